"""The OpenAI-compatible chat API: which provider answers, one chat-completion call, and which failures may pass."""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import httpx
from prefect.concurrency.sync import concurrency

from core.limits import LLM_LIMIT
from core.settings import settings
from models.enums import FieldSource

if TYPE_CHECKING:  # the OpenAI client (~0.9 s to import) loads with the first call: an offline run never needs it
    import openai

RETRYABLE_STATUS = {408, 409, 429}


class MalformedResponseError(RuntimeError):
    """The provider answered 2xx with a body that is not a chat completion."""


def is_retryable_error(exc: BaseException) -> bool:
    """Retry timeouts, connection errors, 429, 408 and 5xx; never other 4xx (401, 403, 404, 400…)."""
    if isinstance(exc, (MalformedResponseError, httpx.TimeoutException, httpx.TransportError)):
        return True
    openai = sys.modules.get("openai")  # not imported: no OpenAI client ran, so no OpenAI error to look at
    if openai is None:
        return False
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in RETRYABLE_STATUS
    return False


@lru_cache(maxsize=4)
def _client(base_url: str | None, api_key: str, timeout: float) -> openai.OpenAI:
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


def provider_config() -> dict[str, Any]:
    """What decides which provider answers; part of the cache key."""
    if settings.llm_enabled:
        return {
            "provider": "llm",
            "model": settings.OPENAI_MODEL,
            "base_url": settings.OPENAI_BASE_URL,
            "max_tokens": settings.LLM_MAX_TOKENS,
            "internal": settings.LLM_PROVIDER_INTERNAL,
        }
    return {"provider": "offline", "model": "offline-template-v1"}


def call_chat(messages: list[dict[str, str]], config: dict[str, Any]) -> dict[str, Any]:
    """One chat-completion call; returns content and token usage, raises on any bad answer."""
    import openai

    client = _client(config["base_url"], settings.OPENAI_API_KEY.get_secret_value(), settings.HTTP_CLIENT_TIMEOUT)
    try:
        # all runs and workers together: LLM_CONCURRENCY; a killed run's slot comes back within 60 s
        with concurrency(LLM_LIMIT, occupy=1, strict=False, lease_duration=60):
            response = client.chat.completions.create(
                model=config["model"], messages=messages, max_tokens=config["max_tokens"], temperature=0.2
            )
    except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
        raise MalformedResponseError(f"resposta inválida do provedor de LLM: {exc}") from exc
    choices = getattr(response, "choices", None)
    if not choices or choices[0].message is None or not (choices[0].message.content or "").strip():
        raise MalformedResponseError("resposta do provedor de LLM sem texto (choices vazio)")
    usage = response.usage
    return {
        "content": choices[0].message.content.strip(),
        "source": FieldSource.LLM.value,
        "model": response.model or config["model"],
        "tokens_in": usage.prompt_tokens if usage else None,
        "tokens_out": usage.completion_tokens if usage else None,
        "finish_reason": choices[0].finish_reason,
    }
