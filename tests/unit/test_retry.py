"""Which failures are retried: the retry_on factory and the database policy; for the LLM, timeouts, connection
errors, 408/409/429 and 5xx, never other 4xx."""

import httpx
import openai
import pytest

from models.errors import ConflictError, NotFoundError
from tasks.llm.client import MalformedResponseError, is_retryable_error

REQUEST = httpx.Request("POST", "http://llm/v1/chat/completions")


def status_error(code: int) -> openai.APIStatusError:
    response = httpx.Response(code, request=REQUEST, json={"error": {"message": "x"}})
    classes = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        403: openai.PermissionDeniedError,
        404: openai.NotFoundError,
        422: openai.UnprocessableEntityError,
        429: openai.RateLimitError,
    }
    cls = classes.get(code, openai.InternalServerError if code >= 500 else openai.APIStatusError)
    return cls("x", response=response, body=None)


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_status(code):
    assert is_retryable_error(status_error(code))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_client_errors_are_final(code):
    assert not is_retryable_error(status_error(code))


@pytest.mark.parametrize(
    "exc",
    [
        openai.APITimeoutError(request=REQUEST),
        openai.APIConnectionError(request=REQUEST),
        MalformedResponseError("x"),
        httpx.ReadTimeout("x"),
    ],
)
def test_transport_failures_are_retried(exc):
    assert is_retryable_error(exc)


def test_programming_errors_are_not_retried():
    assert not is_retryable_error(ValueError("bug"))


# retry_on: the one factory of the tasks' retry conditions (tasks/retry.py)


def _decides(condition, exc: Exception | None) -> bool:
    from prefect.states import Completed, Failed

    return condition(None, None, Failed(data=exc) if exc is not None else Completed(data=1))


class Refusal(Exception):
    pass


class Declared(Exception):
    def __init__(self, retryable: bool):
        super().__init__("x")
        self.retryable = retryable


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RuntimeError("db down"), True),
        (ValueError("bad"), False),  # not among the retryable types
        (Refusal("no"), False),  # excluded even though it is an Exception
        (None, False),  # a completed state is never retried
    ],
)
def test_retry_on_types_and_exclusions(exc, expected):
    from tasks.retry import retry_on

    # given a condition retrying RuntimeError unless Refusal, when a task ended with exc, then it decides
    condition = retry_on(RuntimeError, Refusal, unless=(Refusal,))
    assert _decides(condition, exc) is expected


@pytest.mark.parametrize(("exc", "expected"), [(Declared(True), True), (Declared(False), False), (OSError(), True)])
def test_retry_on_takes_an_error_at_its_word(exc, expected):
    from tasks.retry import declared_retryable, retry_on

    assert _decides(retry_on(Exception, when=declared_retryable), exc) is expected


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RuntimeError("connection reset"), True),
        (NotFoundError("não encontrado"), False),
        (ConflictError("conflito"), False),
    ],
)
def test_database_policy_retries_faults_not_domain_refusals(exc, expected):
    from tasks.retry import DB_RETRIES

    assert _decides(DB_RETRIES["retry_condition_fn"], exc) is expected


def test_the_condition_is_named_after_what_it_retries():
    from tasks.retry import retry_on

    assert retry_on(TimeoutError, ConnectionError).__name__ == "retry_on(TimeoutError, ConnectionError)"
