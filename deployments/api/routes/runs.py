"""Flow runs: start the drafting flows (202 + run id), read a run's state and result."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from prefect.client.orchestration import PrefectClient
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from core.settings import settings
from core.validation import REQUEST_BODY
from deployments.api import prefect_glue as glue
from deployments.api import triggers
from deployments.api.deps import (
    ActingDep,
    PrefectDep,
    ReadKey,
    RunKey,
    TraceId,
    cleared_for_sigiloso,
    ensure_reaches,
    sigiloso_section_refused,
)
from deployments.api.run_service import (
    RESPONSES,
    IdempotencyKey,
    RunStatus,
    Wait,
    launch,
    redact_secret_run,
    shown_result,
)
from deployments.api.waiters import waiters
from deployments.catalog import CONSOLIDATE_DOCUMENT, GENERATE_DOCUMENT, GENERATE_FIELD
from models import rules
from models.apikey import ApiKey
from models.crud.documents import Acting
from models.enums import DocumentKind
from tasks.llm.params import DocumentId, Force, GenerateDocumentOptions, Instructions, Slug

router = APIRouter(prefix="/api/v1", tags=["flow runs"])


class GenerateFieldRequest(BaseModel):
    """The flow's parameters (tasks/llm/params.py), the section named ``field`` as the API always called it."""

    model_config = REQUEST_BODY

    document_id: DocumentId
    field: Slug
    force: Force = False
    instructions: Instructions = None


GenerateDocumentRequest = GenerateDocumentOptions


async def _generate_field(
    kind: DocumentKind,
    request: Request,
    client: PrefectClient,
    key: ApiKey,
    trace_id: str,
    acting: Acting,
    body: GenerateFieldRequest,
    idempotency_key: str | None,
    wait: float,
) -> JSONResponse:
    rules.check_can_plan(acting.person)
    await run_in_threadpool(ensure_reaches, key, body.document_id)
    doc = await run_in_threadpool(triggers.runnable_document, body.document_id, kind, body.field)
    if doc["sigiloso"] and not cleared_for_sigiloso(key):
        raise sigiloso_section_refused(body.field)
    response = await launch(
        request,
        client,
        key,
        GENERATE_FIELD,
        {
            "document_id": body.document_id,
            "slug": body.field,
            "requested_by": acting.person.identifier,
            "force": body.force,
            "instructions": body.instructions,
        },
        trace_id=trace_id,
        wait=wait,
        idempotency_key=idempotency_key,
        name=f"generate-{kind}-{doc['processo']}-{body.field}",
        tags=triggers.run_tags(doc, acting),
        llm_calls=1,
    )
    if doc["sigiloso"] and response.status_code == status.HTTP_200_OK:  # the drafted estimate is in the answer
        await run_in_threadpool(
            triggers.audit_confidential_read,
            doc["id"],
            f"resultado da redação da seção {body.field} (wait)",
            key.name,
            trace_id,
        )
    return response


@router.post("/etp/generate-field", status_code=202, responses=RESPONSES, response_model=None)
async def etp_generate_field(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    acting: ActingDep,
    body: GenerateFieldRequest,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> JSONResponse:
    """Draft one field of an ETP in a flow run (202 with the run id; `wait` returns the result if ready)."""
    return await _generate_field(DocumentKind.ETP, request, client, key, trace_id, acting, body, idempotency_key, wait)


@router.post("/tr/generate-field", status_code=202, responses=RESPONSES, response_model=None)
async def tr_generate_field(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    acting: ActingDep,
    body: GenerateFieldRequest,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> JSONResponse:
    """Draft one field of a TR in a flow run."""
    return await _generate_field(DocumentKind.TR, request, client, key, trace_id, acting, body, idempotency_key, wait)


@router.post("/documents/{document_id}/generate", status_code=202, responses=RESPONSES, response_model=None)
async def generate_document(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    acting: ActingDep,
    document_id: uuid.UUID,
    body: GenerateDocumentRequest | None = None,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> JSONResponse:
    """Draft every empty field of the document, concurrently, in one flow run."""
    body = body or GenerateDocumentRequest()
    rules.check_can_plan(acting.person)
    doc = await run_in_threadpool(triggers.runnable_document, document_id)
    if doc["protected"] and not cleared_for_sigiloso(key):  # the run would draft (or overwrite) the estimate
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "O documento tem orçamento sigiloso (art. 24 da Lei 14.133/2021): redigir todas as seções inclui "
            f"{', '.join(doc['protected'])}, o que exige o escopo 'sigiloso'; sem ele, redija as seções públicas "
            "uma a uma (generate-field).",
        )
    return await launch(
        request,
        client,
        key,
        GENERATE_DOCUMENT,
        {"document_id": document_id, "requested_by": acting.person.identifier, **body.model_dump()},
        trace_id=trace_id,
        wait=wait,
        idempotency_key=idempotency_key,
        name=f"generate-{doc['kind']}-{doc['processo']}",
        tags=triggers.run_tags(doc, acting),
        llm_calls=doc["empty"] if body.only_empty else doc["sections"],
    )


@router.post("/documents/{document_id}/consolidate", status_code=202, responses=RESPONSES, response_model=None)
async def consolidate(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    acting: ActingDep,
    document_id: uuid.UUID,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> JSONResponse:
    """Render the approved document to DOCX and PDF, store and register them, mark it consolidado (X-Actor: the
    planning team or the authority)."""
    rules.check_can_consolidate(acting.person)
    doc = await run_in_threadpool(triggers.consolidatable, document_id)
    return await launch(
        request,
        client,
        key,
        CONSOLIDATE_DOCUMENT,
        {"document_id": document_id, "requested_by": acting.person.identifier},
        trace_id=trace_id,
        wait=wait,
        idempotency_key=idempotency_key,
        name=f"consolidate-{doc['kind']}-{doc['processo']}-v{doc['version']}",
        tags=triggers.run_tags(doc, acting),
    )


@router.get("/flow-runs/{flow_run_id}", response_model=RunStatus, name="read_flow_run")
async def read_flow_run(
    client: PrefectDep, key: ReadKey, trace_id: TraceId, flow_run_id: uuid.UUID, wait: Wait = 0
) -> RunStatus:
    """State and (when completed) result of a flow run; `wait` long-polls until it ends. The drafted text of a
    sigiloso estimate comes only with the 'sigiloso' scope (and the read is audited)."""
    flow_run = await glue.read_run(client, flow_run_id)
    if flow_run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Execução {flow_run_id} não encontrada.")
    owner = (flow_run.parameters or {}).get("document_id")
    if key.orgaos and owner:  # a run of another órgão's document: as if it did not exist
        try:
            owner_id = uuid.UUID(str(owner))
        except ValueError:
            owner_id = None
        if owner_id is not None:
            await run_in_threadpool(ensure_reaches, key, owner_id, f"Execução {flow_run_id} não encontrada.")
    if wait:
        with waiters.slot(str(key.id)):
            flow_run = await glue.wait_for_run(client, flow_run_id, wait)
    described = await glue.describe_run(flow_run, settings.prefect_ui_url)
    parameters = described.get("parameters") or {}
    described["result"] = shown_result(described.get("result"), cleared_for_sigiloso(key))
    result = described.get("result")
    estimate = (
        isinstance(result, dict)
        and result.get("content")
        and parameters.get("slug")
        and await run_in_threadpool(triggers.protected_field, str(parameters.get("document_id")), parameters["slug"])
    )
    if cleared_for_sigiloso(key):
        if estimate:
            await run_in_threadpool(
                triggers.audit_confidential_read,
                str(parameters["document_id"]),
                f"resultado da execução {flow_run_id} (seção {parameters['slug']})",
                key.name,
                trace_id,
            )
    elif estimate or rules.SIGILOSO_RUN_TAG in described.get("tags", []):
        redact_secret_run(described)
    return RunStatus(**described)
