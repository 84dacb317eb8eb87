"""Publication on PNCP: start a publish-pncp run (202 + run id) and read the registry of what was attached."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from core.validation import REQUEST_BODY, JsonInt
from deployments.api import triggers
from deployments.api.deps import ActingDep, PrefectDep, ReadKey, RunKey, SessionDep, TraceId
from deployments.api.run_service import RESPONSES, IdempotencyKey, Wait, launch
from deployments.catalog import PUBLISH_PNCP
from models.crud.publications import publications_of

router = APIRouter(prefix="/api/v1", tags=["publication"])


class PublishRequest(BaseModel):
    """The contratação on PNCP the files are attached to: `/v1/orgaos/{cnpj}/compras/{ano}/{sequencial}`."""

    model_config = REQUEST_BODY

    cnpj: Annotated[str, Field(min_length=14, max_length=18, description="CNPJ do órgão (14 dígitos)")]
    ano: Annotated[JsonInt, Field(ge=2021, le=2100, description="ano da contratação no PNCP")]
    sequencial: Annotated[JsonInt, Field(ge=1, le=9_999_999, description="sequencial da contratação no PNCP")]


class PublicationPublic(BaseModel):
    id: uuid.UUID
    document_id: uuid.UUID
    document_version: int
    tipo_documento_id: int
    cnpj: str
    ano: int
    sequencial: int
    artifact_id: uuid.UUID
    sha256: str
    titulo: str
    status: str
    url: str | None
    sequencial_documento: int | None
    requested_by: str | None
    flow_run_id: str | None
    created_at: datetime
    published_at: datetime | None
    removed_at: datetime | None
    removal_reason: str | None


@router.post("/documents/{document_id}/publish", status_code=202, responses=RESPONSES, response_model=None)
async def publish(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    acting: ActingDep,
    document_id: uuid.UUID,
    body: PublishRequest,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> JSONResponse:
    """Attach the consolidated (or signed) document's PDF and its price research report to a contratação on PNCP,
    once, and mark it publicado (X-Actor: the planning team or the authority of the document's órgão)."""
    doc = await run_in_threadpool(
        triggers.publishable, document_id, acting.person, body.cnpj, body.ano, body.sequencial
    )
    return await launch(
        request,
        client,
        key,
        PUBLISH_PNCP,
        {
            "document_id": document_id,
            "cnpj": doc["cnpj"],
            "ano": body.ano,
            "sequencial": body.sequencial,
            "requested_by": acting.person.identifier,
        },
        trace_id=trace_id,
        wait=wait,
        idempotency_key=idempotency_key,
        name=f"publish-{doc['kind']}-{doc['processo']}-v{doc['version']}",
        tags=triggers.run_tags(doc, acting),
    )


@router.get("/documents/{document_id}/publications", response_model=list[PublicationPublic])
def list_publications(
    session: SessionDep, key: ReadKey, trace_id: TraceId, document_id: uuid.UUID
) -> list[PublicationPublic]:
    """What was attached to PNCP for the document, oldest first: each file's URL, number, status and who asked."""
    return [PublicationPublic(**row.model_dump()) for row in publications_of(session, document_id)]
