"""Drafting through an OpenAI-compatible chat API, or the offline provider when no key is set."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import httpx
import openai
from prefect import task
from prefect.cache_policies import INPUTS
from prefect.concurrency.sync import concurrency
from prefect.tasks import exponential_backoff

from core.limits import LLM_LIMIT
from core.settings import settings
from models.enums import FieldSource
from tasks import run_logger
from tasks.guard import check_output, scrub_personal_data
from tasks.prompts import DraftingContext, build_messages, offline_draft, with_market_data
from tasks.retry import retry_on

RETRYABLE_STATUS = {408, 409, 429}


class MalformedResponseError(RuntimeError):
    """The provider answered 2xx with a body that is not a chat completion."""


class GeneratedTextRefused(RuntimeError):
    """The draft tries to act beyond a section's text (status, URLs, tools, our instructions): not stored, no retry."""


def scrub_messages(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict[str, int]]:
    """The messages with personal data replaced (LGPD), and how many of each kind went."""
    scrubbed, removed = [], {"cpf": 0, "email": 0, "phone": 0}
    for message in messages:
        content, counts = scrub_personal_data(message["content"])
        scrubbed.append({**message, "content": content})
        for kind, count in counts.items():
            removed[kind] += count
    return scrubbed, removed


def is_retryable_error(exc: BaseException) -> bool:
    """Retry timeouts, connection errors, 429, 408 and 5xx; never other 4xx (401, 403, 404, 400…)."""
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, MalformedResponseError,
                        httpx.TimeoutException, httpx.TransportError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in RETRYABLE_STATUS
    return False


@lru_cache(maxsize=4)
def _client(base_url: str | None, api_key: str, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


def provider_config() -> dict[str, Any]:
    """What decides which provider answers; part of the cache key."""
    if settings.llm_enabled:
        return {"provider": "llm", "model": settings.OPENAI_MODEL, "base_url": settings.OPENAI_BASE_URL,
                "max_tokens": settings.LLM_MAX_TOKENS}
    return {"provider": "offline", "model": "offline-template-v1"}


def call_chat(messages: list[dict[str, str]], config: dict[str, Any]) -> dict[str, Any]:
    """One chat-completion call; returns content and token usage, raises on any bad answer."""
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


@task(
    name="draft-section",
    retries=settings.LLM_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=settings.LLM_RETRY_DELAY_SECONDS),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_on(Exception, when=is_retryable_error),
    cache_policy=INPUTS,
    persist_result=True,
    task_run_name="draft-{ctx.section[slug]}",
)
def draft_section(ctx: DraftingContext, config: dict[str, Any]) -> dict[str, Any]:
    """Draft one section; cached on the prompt's inputs and the provider (force=true refreshes)."""
    logger = run_logger()
    if config["provider"] == "offline":
        logger.info("offline provider (no OPENAI_API_KEY): deterministic draft of %s", ctx.section["slug"])
        return {"content": offline_draft(ctx), "source": FieldSource.OFFLINE.value, "model": config["model"],
                "tokens_in": 0, "tokens_out": 0, "finish_reason": "offline"}
    messages, removed = scrub_messages(build_messages(ctx))
    if any(removed.values()):
        logger.info("dados pessoais retirados do pedido ao modelo (%s): %s", ctx.section["slug"],
                    ", ".join(f"{kind} {count}" for kind, count in removed.items() if count))
    logger.info("calling %s at %s for %s", config["model"], config["base_url"] or "api.openai.com",
                ctx.section["slug"])
    try:
        result = call_chat(messages, config)
    except Exception as exc:
        logger.warning("LLM call failed for %s (%s): %s", ctx.section["slug"], type(exc).__name__, exc)
        raise
    problems = check_output(result["content"], "\n".join(m["content"] for m in messages))
    if problems:
        logger.warning("texto gerado para %s recusado: %s", ctx.section["slug"], "; ".join(problems))
        raise GeneratedTextRefused(
            f"Texto gerado para a seção '{ctx.section['slug']}' recusado: {'; '.join(problems)}. Nada foi gravado; "
            "revise os dados do documento (pode haver uma instrução embutida neles) e gere a seção de novo.")
    logger.info("drafted %s: %d chars, tokens in/out %s/%s", ctx.section["slug"], len(result["content"]),
                result["tokens_in"], result["tokens_out"])
    # the market data (mapa de preços, similar contratações) is data: appended as computed, never re-written
    return {**result, "content": with_market_data(ctx, result["content"])}
