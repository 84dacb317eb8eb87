"""Artifacts and the consolidated status: registered together in one transaction, or not at all."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from models import rules
from models.artifact import Artifact
from models.crud.documents import Acting, get_document, set_status
from models.crud.notifications import record_document_event
from models.document import Document
from models.enums import DocumentStatus
from models.errors import ConflictError, NotFoundError
from models.search import sync_document


def register_consolidation(
    session: Session,
    document_id: uuid.UUID,
    version: int,
    stored: list[dict[str, Any]],
    *,
    template_id: uuid.UUID,
    template_version: int,
    flow_run_id: str | None,
    trace_id: str | None,
    actor: str = "consolidate-document",
    person: str | None = None,
) -> list[Artifact]:
    """Register the stored files and mark the document consolidado, atomically.

    A rerun after success finds the same artifacts (same version and hashes) and changes nothing.
    """
    document = get_document(session, document_id, for_update=True)
    existing = artifacts_of(session, document_id, version)
    if document.status == DocumentStatus.CONSOLIDADO and document.version == version:
        if {(a.format, a.sha256, a.classified) for a in existing} == {
            (s["format"], s["sha256"], s.get("classified", False)) for s in stored
        }:
            return existing
        raise ConflictError("O documento já foi consolidado nesta versão com outros arquivos.")
    if document.status != DocumentStatus.APROVADO:
        raise ConflictError(f"Só um documento aprovado pode ser consolidado; está '{document.status}'.")
    if document.version != version:
        raise ConflictError(f"O documento mudou para a versão {document.version} durante a consolidação.")
    artifacts = [
        Artifact(
            document_id=document_id,
            document_version=version,
            format=s["format"],
            storage_uri=s["uri"],
            key=s["key"],
            sha256=s["sha256"],
            size_bytes=s["size"],
            conformance=s.get("conformance", ""),
            classified=s.get("classified", False),
            template_id=template_id,
            template_version=template_version,
            flow_run_id=flow_run_id,
            trace_id=trace_id,
        )
        for s in stored
    ]
    session.add_all(artifacts)
    set_status(
        session,
        document,
        DocumentStatus.CONSOLIDADO,
        reason=f"versão {version} consolidada",
        actor=actor,
        person=person,
        trace_id=trace_id,
    )
    record_document_event(
        session,
        "document.consolidated",
        document,
        trace_id=trace_id,
        flow_run_id=flow_run_id,
        artifacts=[
            {"format": a.format, "sha256": a.sha256, "size_bytes": a.size_bytes, "conformance": a.conformance or None}
            for a in artifacts
            if not a.classified
        ],
        classified_annex=any(a.classified for a in artifacts) or None,
    )
    session.flush()
    return artifacts


def artifacts_of(
    session: Session,
    document_id: uuid.UUID,
    version: int | None = None,
    classified: bool = True,
    kind: str | None = "documento",
) -> list[Artifact]:
    """The document's artifacts, newest version first; ``classified=False`` leaves the classified annexes out;
    ``kind``: the consolidated files ("documento", the default), the price research reports ("pesquisa_precos"), or
    every file (None)."""
    query = select(Artifact).where(Artifact.document_id == document_id)
    if kind is not None:
        query = query.where(Artifact.kind == kind)
    if version is not None:
        query = query.where(Artifact.document_version == version)
    if not classified:
        query = query.where(col(Artifact.classified).is_(False))
    return list(
        session.exec(
            query.order_by(col(Artifact.document_version).desc(), col(Artifact.classified), Artifact.format)
        ).all()
    )


def get_artifact(session: Session, artifact_id: uuid.UUID) -> Artifact:
    artifact = session.get(Artifact, artifact_id)
    if artifact is None:
        raise NotFoundError(f"Artefato {artifact_id} não encontrado.")
    return artifact


def new_version(session: Session, document_id: uuid.UUID, reason: str | None, acting: Acting) -> Document:
    """Open a new version of a consolidated document for editing (the consolidated one stays frozen); an act of the
    planning team. Whoever writes, justifies or reviews a section of the new version may not approve it."""
    rules.check_can_plan(acting.person)
    document = get_document(session, document_id, for_update=True)
    if document.status not in rules.FROZEN:
        raise ConflictError(
            f"Só um documento consolidado (assinado ou publicado) ganha nova versão; está '{document.status}'.",
            status=str(document.status),
        )
    document.version += 1
    set_status(
        session,
        document,
        DocumentStatus.RASCUNHO,
        reason=reason or f"nova versão {document.version}",
        actor=acting.app,
        person=acting.person.identifier,
        trace_id=acting.trace_id,
    )
    session.flush()
    sync_document(session, document.id)  # the same texts open again for editing: the index row is rewritten anyway
    return document
