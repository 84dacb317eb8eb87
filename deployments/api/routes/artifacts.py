"""Artifacts of consolidated documents: list, download (presigned URL for S3, streamed file locally), versions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field

from deployments.api.deps import ReadKey, SessionDep, TraceId, WriteKey
from models.artifact import ArtifactPublic
from models.crud.artifacts import artifacts_of, get_artifact, new_version
from models.crud.documents import get_document
from models.document import DocumentPublic
from tasks.storage import CONTENT_TYPES, StorageError, store_for_uri

router = APIRouter(prefix="/api/v1", tags=["artifacts"])


class NewVersionRequest(BaseModel):
    reason: str | None = Field(None, max_length=4000)


def _filename(artifact, document) -> str:
    processo = "".join(c if c.isalnum() else "-" for c in document.numero_processo).strip("-")
    return f"{document.kind}-{processo}-v{artifact.document_version}.{artifact.format}"


@router.get("/documents/{document_id}/artifacts", response_model=list[ArtifactPublic])
def list_artifacts(session: SessionDep, _: ReadKey, document_id: uuid.UUID) -> list[ArtifactPublic]:
    """Every stored file of the document, newest version first, with its download address."""
    get_document(session, document_id)
    return [ArtifactPublic(**a.model_dump(), download_url=f"/api/v1/artifacts/{a.id}/download")
            for a in artifacts_of(session, document_id)]


@router.get("/artifacts/{artifact_id}/download", response_model=None,
            responses={200: {"description": "O arquivo"}, 307: {"description": "URL pré-assinada do S3"}})
def download(session: SessionDep, _: ReadKey, artifact_id: uuid.UUID):
    """The file: a redirect to a presigned URL for S3, the bytes streamed for local storage."""
    artifact = get_artifact(session, artifact_id)
    document = get_document(session, artifact.document_id)
    filename = _filename(artifact, document)
    store = store_for_uri(artifact.storage_uri)
    url = store.download_url(artifact.key, filename)
    if url:
        return RedirectResponse(url, status_code=307)
    try:
        handle = store.open(artifact.key)
    except (OSError, StorageError) as exc:
        raise StorageError(f"O arquivo do artefato {artifact_id} não está acessível: {exc}") from exc
    return StreamingResponse(handle, media_type=CONTENT_TYPES[artifact.format],
                             headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                      "X-Content-SHA256": artifact.sha256})


@router.post("/documents/{document_id}/versions", response_model=DocumentPublic)
def open_new_version(session: SessionDep, key: WriteKey, trace_id: TraceId, document_id: uuid.UUID,
                     body: NewVersionRequest | None = None) -> DocumentPublic:
    """Open version N+1 of a consolidated document for editing; version N and its files stay as they are."""
    document = new_version(session, document_id, body.reason if body else None, actor=key.name, trace_id=trace_id)
    return DocumentPublic.model_validate(document, from_attributes=True)
