"""Which LLM failures are retried: timeouts, connection errors, 408/409/429 and 5xx; never other 4xx."""

import httpx
import openai
import pytest

from tasks.llm import MalformedResponseError, is_retryable_error

REQUEST = httpx.Request("POST", "http://llm/v1/chat/completions")


def status_error(code: int) -> openai.APIStatusError:
    response = httpx.Response(code, request=REQUEST, json={"error": {"message": "x"}})
    classes = {400: openai.BadRequestError, 401: openai.AuthenticationError, 403: openai.PermissionDeniedError,
               404: openai.NotFoundError, 422: openai.UnprocessableEntityError, 429: openai.RateLimitError}
    cls = classes.get(code, openai.InternalServerError if code >= 500 else openai.APIStatusError)
    return cls("x", response=response, body=None)


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_status(code):
    assert is_retryable_error(status_error(code))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_client_errors_are_final(code):
    assert not is_retryable_error(status_error(code))


@pytest.mark.parametrize("exc", [
    openai.APITimeoutError(request=REQUEST), openai.APIConnectionError(request=REQUEST),
    MalformedResponseError("x"), httpx.ReadTimeout("x"),
])
def test_transport_failures_are_retried(exc):
    assert is_retryable_error(exc)


def test_programming_errors_are_not_retried():
    assert not is_retryable_error(ValueError("bug"))
