"""generate-document: draft every empty section of a document concurrently, under a limit."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from core.settings import settings
from flows._events import on_generation_failure
from flows._identity import run_identity
from tasks.llm.client import provider_config
from tasks.llm.params import DocumentId, Force, GenerateDocumentParams, OnlyEmpty, RequestedBy
from tasks.llm.tasks import draft_section
from tasks.params import described_by
from tasks.records.tasks import load_drafting_contexts, save_fields


class PartialGenerationError(RuntimeError):
    """Some sections could not be drafted; the others were stored."""


@flow(
    name="generate-document",
    task_runner=ThreadPoolTaskRunner(max_workers=settings.LLM_CONCURRENCY),
    persist_result=True,
    result_serializer="json",
    on_failure=[on_generation_failure],
    on_crashed=[on_generation_failure],
)
@described_by(GenerateDocumentParams)
def generate_document(
    document_id: DocumentId, requested_by: RequestedBy, force: Force = False, only_empty: OnlyEmpty = True
) -> dict[str, Any]:
    """Draft the empty sections (or all with only_empty=false) for the person `requested_by` (who must then review
    them); fails naming the sections that failed."""
    run_id, trace_id = run_identity()
    contexts = load_drafting_contexts(document_id, only_empty=only_empty, requested_by=requested_by)
    config = provider_config()
    drafting = draft_section.with_options(refresh_cache=force)
    futures = {drafting.submit(ctx, config): ctx.section["slug"] for ctx in contexts}
    drafts, cached, failed = {}, set(), {}
    for future, slug in futures.items():
        future.wait()
        state = future.state
        if state.is_completed():
            drafts[slug] = future.result()
            if state.name == "Cached":
                cached.add(slug)
        else:
            failed[slug] = str(state.message or state.name)
    saved = [
        {**item, "cached": item["slug"] in cached}
        for item in (save_fields(document_id, drafts, run_id, trace_id, requested_by) if drafts else [])
    ]
    if failed:
        details = "; ".join(f"{slug}: {reason}" for slug, reason in sorted(failed.items()))
        raise PartialGenerationError(
            f"{len(failed)} de {len(futures)} seções falharam ({details}); {len(saved)} foram gravadas."
        )
    return {
        "document_id": str(document_id),
        "fields": sorted(saved, key=lambda s: s["slug"]),
        "tokens_in": sum(s["tokens_in"] or 0 for s in saved),
        "tokens_out": sum(s["tokens_out"] or 0 for s in saved),
    }
