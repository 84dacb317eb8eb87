"""Signatures of a consolidated document: request one (starts sign-document), list them (who is next, the digest an
external signer must sign, the latest signed PDF), and post the CMS of an external signature (resumes the run)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from prefect.client.orchestration import PrefectClient
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from core.settings import settings
from core.validation import REQUEST_BODY
from deployments.api import prefect_glue as glue
from deployments.api import triggers
from deployments.api.deps import ActingDep, PrefectDep, ReadKey, RunKey, SessionDep, TraceId
from deployments.api.errors import error_body
from deployments.api.run_service import RESPONSES, IdempotencyKey, launch
from deployments.catalog import SIGN_DOCUMENT
from models.artifact import ArtifactPublic
from models.crud import signatures as crud
from models.db import session_scope
from models.signature import DocumentSignature, SignatureStatus

router = APIRouter(prefix="/api/v1", tags=["signatures"])


class SignatureRequest(BaseModel):
    model_config = REQUEST_BODY
    backend: Literal["pkcs12", "external"] = Field(
        "pkcs12",
        description="`pkcs12`: o certificado da pessoa instalado na plataforma; `external`: a execução pausa e "
        "espera o CMS feito pelo token, pelo assinador em nuvem ou pelo serviço gov.br",
    )
    certificado_pem: str | None = Field(
        None, max_length=65_536, description="external: o certificado do signatário em PEM (e a cadeia, depois)"
    )


class CmsSubmission(BaseModel):
    model_config = REQUEST_BODY
    cms_base64: str = Field(
        min_length=16,
        max_length=65_536,
        description="CMS SignedData destacado (DER, base64) sobre o intervalo de bytes do PDF: o atributo assinado "
        "messageDigest é o `resumo_sha256` da assinatura pendente",
    )


class SignaturePublic(BaseModel):
    id: uuid.UUID
    document_version: int
    seq: int
    person: str
    name: str
    role: str
    backend: str
    status: str
    level: str | None
    certificate_subject: str | None
    certificate_serial: str | None
    resumo_sha256: str | None = Field(None, description="external pendente: o SHA-256 (hex) a assinar")
    artifact_id: uuid.UUID | None
    validation: dict[str, Any] | None
    flow_run_id: str | None
    erro: str | None
    requested_at: datetime
    signed_at: datetime | None


class Expected(BaseModel):
    seq: int
    person: str
    name: str
    role: str


class SignaturesPublic(BaseModel):
    document_id: uuid.UUID
    version: int
    status: str
    esperado: Expected | None = Field(description="quem assina agora (None: todos assinaram)")
    ordem: list[Expected]
    assinaturas: list[SignaturePublic]
    documento_assinado: ArtifactPublic | None = Field(description="o PDF com mais assinaturas desta versão")


def public_signature(row: DocumentSignature) -> SignaturePublic:
    data = row.model_dump()
    return SignaturePublic(**data, resumo_sha256=row.digest)


def _request(document_id: uuid.UUID, person: str, backend: str, certificate_pem: str | None) -> dict[str, Any]:
    from tasks.sign.signers import check_backend

    with session_scope() as session:
        row = crud.request_signature(session, document_id, person, backend)
        check_backend(backend, person, certificate_pem)
        doc = crud.signing_state(session, document_id).document
        return {
            "signature": public_signature(row),
            "doc": triggers.run_info(doc),
        }


def _pending_run(document_id: uuid.UUID, person: str) -> tuple[uuid.UUID, str] | None:
    with session_scope() as session:
        row = crud.signing_state(session, document_id).row_of(person)
        if row is None or row.status != SignatureStatus.PENDENTE or not row.flow_run_id:
            return None
        return row.id, row.flow_run_id


def _mark_failed(signature_id: uuid.UUID, reason: str) -> None:
    with session_scope() as session:
        crud.mark_failed(session, signature_id, reason)


async def release_stale_request(client: PrefectClient, document_id: uuid.UUID, person: str) -> None:
    """A pending request whose run ended without its hook (cancelled, crashed with the worker) becomes `falhou`, so
    that the person may ask again."""
    pending = await run_in_threadpool(_pending_run, document_id, person)
    if pending is None:
        return
    signature_id, flow_run_id = pending
    flow_run = await glue.read_run(client, uuid.UUID(flow_run_id))
    if flow_run is None or (flow_run.state is not None and flow_run.state.is_final()):
        state = flow_run.state.name if flow_run is not None and flow_run.state else "não encontrada"
        await run_in_threadpool(_mark_failed, signature_id, f"a execução {flow_run_id} terminou ({state}) sem assinar")


def _after_launch(signature_id: uuid.UUID, flow_run_id: str | None, failure: str | None) -> SignaturePublic:
    with session_scope() as session:
        if not flow_run_id:
            crud.mark_failed(session, signature_id, failure or "a execução não foi iniciada")
            session.flush()
        return public_signature(crud.attach_run(session, signature_id, flow_run_id))


@router.post("/documents/{document_id}/signatures", status_code=202, responses=RESPONSES, response_model=None)
async def request_signature(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    acting: ActingDep,
    document_id: uuid.UUID,
    body: SignatureRequest,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """X-Actor signs the consolidated document: only a person the document names (403 otherwise), in its order —
    who prepared it, then the authority who approved it (409 naming who is expected). 202 with the run and the
    signature (`assinatura`); for `external`, read the digest with GET …/signatures once the run is Paused, then post
    the CMS to …/signatures/{id}/cms."""
    person = acting.person.identifier
    await release_stale_request(client, document_id, person)
    prepared = await run_in_threadpool(_request, document_id, person, body.backend, body.certificado_pem)
    signature: SignaturePublic = prepared["signature"]
    response = await launch(
        request,
        client,
        key,
        SIGN_DOCUMENT,
        {
            "document_id": document_id,
            "person": person,
            "backend": body.backend,
            "certificate_pem": body.certificado_pem,
        },
        trace_id=trace_id,
        wait=0,
        idempotency_key=idempotency_key,
        name=f"sign-{prepared['doc']['kind']}-{prepared['doc']['processo']}-v{prepared['doc']['version']}-{person}",
        tags=[*triggers.run_tags(prepared["doc"], acting), "signature"],
    )
    payload = json.loads(bytes(response.body))
    started = response.status_code == status.HTTP_202_ACCEPTED
    row = await run_in_threadpool(
        _after_launch, signature.id, payload.get("flow_run_id") if started else None, payload.get("detail")
    )
    payload["assinatura"] = row.model_dump(mode="json")
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("location", "retry-after")}
    return JSONResponse(payload, status_code=response.status_code, headers=headers)


@router.get("/documents/{document_id}/signatures", response_model=SignaturesPublic)
def list_signatures(session: SessionDep, _: ReadKey, document_id: uuid.UUID) -> SignaturesPublic:
    """Who signs, in order; who is expected now; every signature of the current version (a pending external one with
    the digest to sign); the signed PDF with the most signatures."""
    state = crud.signing_state(session, document_id)
    latest = crud.latest_signed(session, document_id, state.document.version)
    expected = state.expected

    def named(s: Any) -> Expected:
        return Expected(seq=s.seq, person=s.identifier, name=s.name, role=s.role)

    return SignaturesPublic(
        document_id=document_id,
        version=state.document.version,
        status=str(state.document.status),
        esperado=named(expected) if expected else None,
        ordem=[named(s) for s in state.order],
        assinaturas=[public_signature(r) for r in state.rows],
        documento_assinado=ArtifactPublic(**latest.model_dump(), download_url=f"/api/v1/artifacts/{latest.id}/download")
        if latest
        else None,
    )


def _pending_external(document_id: uuid.UUID, signature_id: uuid.UUID, person: str) -> DocumentSignature:
    with session_scope() as session:
        row = crud.get_signature(session, document_id, signature_id)
        if row.person != person:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"Esta assinatura é de {row.name} ({row.person}); só o próprio signatário envia o CMS.",
            )
        if row.backend != "external" or row.status != SignatureStatus.PENDENTE or not row.flow_run_id:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"A assinatura não espera CMS (backend '{row.backend}', situação '{row.status}').",
            )
        session.expunge(row)
        return row


@router.post(
    "/documents/{document_id}/signatures/{signature_id}/cms", status_code=202, responses=RESPONSES, response_model=None
)
async def post_cms(
    request: Request,
    client: PrefectDep,
    _: RunKey,
    trace_id: TraceId,
    acting: ActingDep,
    document_id: uuid.UUID,
    signature_id: uuid.UUID,
    body: CmsSubmission,
) -> JSONResponse:
    """The external signer's CMS (X-Actor: the signer): resumes the paused run, which embeds, validates, stores and
    registers it; 409 when the run is not paused (not yet, or it ended)."""
    try:
        base64.b64decode(body.cms_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HTTPException(422, f"cms_base64 não é base64 válido: {exc}") from exc
    row = await run_in_threadpool(_pending_external, document_id, signature_id, acting.person.identifier)
    flow_run_id = uuid.UUID(str(row.flow_run_id))
    try:
        await glue.resume_with_input(client, flow_run_id, {"cms_base64": body.cms_base64})
    except glue.NotPaused as exc:
        return JSONResponse(
            error_body(
                f"A execução {flow_run_id} não está pausada à espera do CMS ({exc}); consulte GET "
                f"/api/v1/documents/{document_id}/signatures.",
                flow_run_id=str(flow_run_id),
            ),
            status_code=409,
        )
    status_url = str(request.url_for("read_flow_run", flow_run_id=flow_run_id))
    return JSONResponse(
        {
            "flow_run_id": str(flow_run_id),
            "trace_id": trace_id,
            "status_url": status_url,
            "ui_url": f"{settings.prefect_ui_url}/runs/flow-run/{flow_run_id}",
        },
        status_code=202,
        headers={"Location": status_url},
    )
