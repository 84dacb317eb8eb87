"""The drafting task: one section through the OpenAI-compatible chat API, or the offline provider when no key is set."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import INPUTS
from prefect.tasks import exponential_backoff

from core.settings import settings
from models.enums import FieldSource
from tasks import run_logger
from tasks.llm.client import call_chat, is_retryable_error
from tasks.llm.guard import check_output, reveals_estimate, scrub_messages
from tasks.llm.prompts import DraftingContext, assembled_estimate, build_messages, offline_draft, with_market_data
from tasks.retry import retry_on


class GeneratedTextRefused(RuntimeError):
    """The draft tries to act beyond a section's text (status, URLs, tools, our instructions) or states a sigiloso
    estimate in a public section: not stored, no retry."""


ASSEMBLED_MODEL = "sem modelo (orçamento sigiloso, provedor externo)"


def _without_model(content: str, model: str, finish_reason: str) -> dict[str, Any]:
    return {
        "content": content,
        "source": FieldSource.OFFLINE.value,
        "model": model,
        "tokens_in": 0,
        "tokens_out": 0,
        "finish_reason": finish_reason,
    }


def _refuse(ctx: DraftingContext, problems: list[str]) -> None:
    if not problems:
        return
    run_logger().warning("texto gerado para %s recusado: %s", ctx.section["slug"], "; ".join(problems))
    raise GeneratedTextRefused(
        f"Texto gerado para a seção '{ctx.section['slug']}' recusado: {'; '.join(problems)}. Nada foi gravado; "
        "revise os dados do documento (pode haver uma instrução embutida neles) e gere a seção de novo."
    )


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
    if ctx.protected and config["provider"] == "llm" and not config.get("internal"):
        # art. 24: the sigiloso estimate is not sent to a provider outside the body's network
        logger.info("orçamento sigiloso: %s montada sem o provedor externo de IA", ctx.section["slug"])
        return _without_model(assembled_estimate(ctx), ASSEMBLED_MODEL, "assembled")
    if config["provider"] == "offline":
        logger.info("offline provider (no OPENAI_API_KEY): deterministic draft of %s", ctx.section["slug"])
        draft = _without_model(offline_draft(ctx), config["model"], "offline")
        _refuse(ctx, [problem] if (problem := reveals_estimate(draft["content"], ctx.secret_figures)) else [])
        return draft
    messages, removed = scrub_messages(build_messages(ctx))
    if any(removed.values()):
        logger.info(
            "dados pessoais retirados do pedido ao modelo (%s): %s",
            ctx.section["slug"],
            ", ".join(f"{kind} {count}" for kind, count in removed.items() if count),
        )
    logger.info("calling %s at %s for %s", config["model"], config["base_url"] or "api.openai.com", ctx.section["slug"])
    try:
        result = call_chat(messages, config)
    except Exception as exc:
        logger.warning("LLM call failed for %s (%s): %s", ctx.section["slug"], type(exc).__name__, exc)
        raise
    problems = check_output(result["content"], "\n".join(m["content"] for m in messages))
    if problem := reveals_estimate(result["content"], ctx.secret_figures):
        problems.append(problem)
    _refuse(ctx, problems)
    logger.info(
        "drafted %s: %d chars, tokens in/out %s/%s",
        ctx.section["slug"],
        len(result["content"]),
        result["tokens_in"],
        result["tokens_out"],
    )
    # the market data (mapa de preços, similar contratações) is data: appended as computed, never re-written;
    # the examples the prompt carried are cited in the field's history
    return {
        **result,
        "content": with_market_data(ctx, result["content"]),
        "examples": [example.citation() for example in ctx.examples],
    }
