"""generate-field: draft one section of an ETP or TR with the LLM (or offline) and store it."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows._events import on_generation_failure
from flows._identity import run_identity
from tasks.llm.client import provider_config
from tasks.llm.params import DocumentId, Force, GenerateFieldParams, Instructions, RequestedBy, Slug
from tasks.llm.tasks import draft_section
from tasks.params import described_by
from tasks.records.tasks import load_drafting_contexts, save_fields


@flow(
    name="generate-field",
    log_prints=True,
    persist_result=True,
    result_serializer="json",
    on_failure=[on_generation_failure],
    on_crashed=[on_generation_failure],
)
@described_by(GenerateFieldParams)
def generate_field(
    document_id: DocumentId,
    slug: Slug,
    requested_by: RequestedBy,
    force: Force = False,
    instructions: Instructions = None,
) -> dict[str, Any]:
    """Draft the section `slug` of the document for the person `requested_by` (who must then review it); `force`
    bypasses the cache of an unchanged prompt."""
    run_id, trace_id = run_identity()
    (ctx,) = load_drafting_contexts(document_id, [slug], instructions=instructions, requested_by=requested_by)
    state = draft_section.with_options(refresh_cache=force)(ctx, provider_config(), return_state=True)
    draft = state.result()
    (saved,) = save_fields(document_id, {slug: draft}, run_id, trace_id, requested_by)
    return {"document_id": str(document_id), **saved, "cached": state.name == "Cached", "content": draft["content"]}
