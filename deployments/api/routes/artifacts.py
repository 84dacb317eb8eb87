"""Artifacts of consolidated documents: list, download (presigned URL for S3, streamed file locally), versions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field

from core.validation import REQUEST_BODY
from deployments.api.deps import ActingDep, ReadKey, SessionDep, TraceId, WriteKey, cleared_for_sigiloso
from deployments.api.files import stored_file
from deployments.api.routes.documents import public_document
from models.artifact import Artifact, ArtifactPublic
from models.crud.artifacts import artifacts_of, get_artifact, new_version
from models.crud.documents import get_document, record_confidential_read
from models.document import Document, DocumentPublic
from tasks.storage.store import CONTENT_TYPES

router = APIRouter(prefix="/api/v1", tags=["artifacts"])


class NewVersionRequest(BaseModel):
    model_config = REQUEST_BODY
    reason: str | None = Field(None, max_length=4000)


def _filename(artifact: Artifact, document: Document) -> str:
    processo = "".join(c if c.isalnum() else "-" for c in document.numero_processo).strip("-")
    annex = "-anexo-classificado" if artifact.classified else ""
    kind = "pesquisa-de-precos" if artifact.kind == "pesquisa_precos" else document.kind
    return f"{kind}-{processo}-v{artifact.document_version}{annex}.{artifact.format}"


@router.get("/documents/{document_id}/artifacts", response_model=list[ArtifactPublic])
def list_artifacts(
    session: SessionDep, key: ReadKey, trace_id: TraceId, document_id: uuid.UUID
) -> list[ArtifactPublic]:
    """Every stored file of the document, newest version first, with its download address: the consolidated
    DOCX/PDF (kind 'documento') and the Relatórios de Pesquisa de Preços (kind 'pesquisa_precos').

    The classified annex of a sigiloso estimate is listed only to keys with the `sigiloso` scope (audited), until the
    authority's act ends the sigilo (POST /documents/{id}/budget-disclosure): then to every key with 'read'."""
    document = get_document(session, document_id)
    cleared = cleared_for_sigiloso(key)
    disclosed = document.orcamento_divulgado_em is not None  # the sigilo ended: the annex is public
    artifacts = artifacts_of(session, document_id, classified=cleared or disclosed, kind=None)
    annexes = [a for a in artifacts if a.classified]
    if annexes and not disclosed:
        versions = ", ".join(sorted({str(a.document_version) for a in annexes}))
        record_confidential_read(
            session, document_id, f"anexo classificado: lista (versões {versions})", key.name, trace_id
        )
    return [ArtifactPublic(**a.model_dump(), download_url=f"/api/v1/artifacts/{a.id}/download") for a in artifacts]


@router.get(
    "/artifacts/{artifact_id}/download",
    response_model=None,
    responses={
        200: {"description": "O arquivo"},
        307: {"description": "URL pré-assinada do S3"},
        403: {"description": "Anexo classificado sem o escopo 'sigiloso'"},
    },
)
def download(
    session: SessionDep, key: ReadKey, trace_id: TraceId, artifact_id: uuid.UUID
) -> RedirectResponse | StreamingResponse:
    """The file: a redirect to a presigned URL for S3, the bytes streamed for local storage.

    A classified annex needs the `sigiloso` scope, and each download of one is audited, until the sigilo ends."""
    artifact = get_artifact(session, artifact_id)
    document = get_document(session, artifact.document_id)
    if artifact.classified and document.orcamento_divulgado_em is None:  # still sigiloso (art. 18, §1º, VI)
        if not cleared_for_sigiloso(key):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "Este arquivo é o anexo classificado de um orçamento "
                "sigiloso (art. 24 da Lei nº 14.133/2021); exige o escopo 'sigiloso'.",
            )
        record_confidential_read(
            session,
            artifact.document_id,
            f"anexo classificado: download {artifact.format.upper()} v{artifact.document_version}",
            key.name,
            trace_id,
        )
    return stored_file(
        artifact.storage_uri,
        artifact.key,
        _filename(artifact, document),
        CONTENT_TYPES[artifact.format],
        artifact.sha256,
        f"do artefato {artifact_id}",
    )


@router.post("/documents/{document_id}/versions", response_model=DocumentPublic)
def open_new_version(
    session: SessionDep,
    _: WriteKey,
    acting: ActingDep,
    document_id: uuid.UUID,
    body: NewVersionRequest | None = None,
) -> DocumentPublic:
    """Open version N+1 of a consolidated document for editing (X-Actor: the planning team); version N and its files
    stay as they are."""
    document = new_version(session, document_id, body.reason if body else None, acting)
    return public_document(document)
