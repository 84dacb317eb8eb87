"""Checks before a flow run is started (API and CLI): the document can run, and how the run is named."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, TypedDict

from models.crud.documents import Acting, document_view, ensure_editable, get_document, record_confidential_read
from models.db import session_scope
from models.document import Document
from models.enums import DocumentKind, DocumentStatus
from models.errors import ConflictError, DomainError, InvalidError, NotFoundError
from models.rules import FROZEN, SIGILOSO_RUN_TAG, FieldState


def slugify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "sem-numero"


class RunnableDocument(TypedDict):
    id: str
    kind: str
    processo: str
    sigiloso: bool  # the section asked for is one of a sigiloso estimate
    protected: list[str]  # every section of the document's sigiloso estimate
    secret: bool  # the document's estimate is sigiloso: its runs are tagged so (models.rules.run_message)
    sections: int  # the template's sections: what generate-document drafts with only_empty=false
    empty: int  # those neither filled nor justified: what it drafts by default (tasks/records load_drafting_contexts)


def runnable_document(
    document_id: uuid.UUID, kind: DocumentKind | None = None, slug: str | None = None
) -> RunnableDocument:
    """Check the document can be drafted (in a worker thread, with its own short session)."""
    with session_scope() as session:
        view = document_view(session, document_id)
        doc = view.document
        if kind is not None and doc.kind != kind:
            raise InvalidError(
                f"O documento {document_id} é um {doc.kind}; use /api/v1/{str(doc.kind).lower()}/generate-field."
            )
        if slug is not None and view.template.section(slug) is None:
            raise NotFoundError(f"O {doc.kind} não tem a seção '{slug}'. Seções: {', '.join(view.template.slugs)}.")
        ensure_editable(doc)
        states = {f.slug: FieldState(f.content, f.justification) for f in view.fields}
        done = {name for name, state in states.items() if state.filled or state.justified}
        return {
            "id": str(doc.id),
            "kind": str(doc.kind),
            "processo": slugify(doc.numero_processo),
            "sigiloso": slug is not None and slug in view.protected_slugs,
            "protected": sorted(view.protected_slugs),
            "secret": doc.estimate_secret,
            "sections": len(view.template.sections),
            "empty": sum(1 for section in view.template.sections if section["slug"] not in done),
        }


def protected_field(document_id: str, slug: str) -> bool:
    """Whether the field is a section of a sigiloso estimate (False when the document is gone)."""
    with session_scope() as session:
        try:
            return slug in document_view(session, uuid.UUID(document_id)).protected_slugs
        except (NotFoundError, ValueError):
            return False


def audit_confidential_read(document_id: str, what: str, actor: str, trace_id: str) -> None:
    with session_scope() as session:
        record_confidential_read(session, uuid.UUID(document_id), what, actor, trace_id)


def run_tags(doc: Mapping[str, object], acting: Acting | None = None) -> list[str]:
    """The run's tags: the document, and who asked for the run (the person, the calling app); ``sigiloso`` for a
    document whose estimate is sigiloso, so that what the run tells (message, parameters, result) is told only to
    the 'sigiloso' scope, even after the document is gone (deployments/api/routes/runs.py, flows/_events.py)."""
    tags = ["nexora", f"document:{doc['id']}", f"kind:{doc['kind']}"]
    if doc.get("secret"):
        tags.append(SIGILOSO_RUN_TAG)
    if acting is not None:
        tags.append(f"person:{acting.person.identifier}")
        if acting.app:
            tags.append(f"app:{acting.app}")
    return tags


def run_info(doc: Document) -> dict[str, Any]:
    """What a run's name and tags say of its document (run_tags): id, kind, process, version, sigilo."""
    return {
        "id": str(doc.id),
        "kind": str(doc.kind),
        "processo": slugify(doc.numero_processo),
        "version": str(doc.version),
        "secret": doc.estimate_secret,
    }


def consolidatable(document_id: uuid.UUID) -> dict[str, Any]:
    with session_scope() as session:
        doc = get_document(session, document_id)
        if doc.status in FROZEN:
            raise ConflictError(
                f"O documento já está {doc.status} na versão {doc.version}; os arquivos estão em "
                f"/api/v1/documents/{doc.id}/artifacts. Para alterar, abra uma nova versão "
                f"(POST /api/v1/documents/{doc.id}/versions).",
                status=str(doc.status),
            )
        if doc.status != DocumentStatus.APROVADO:
            raise ConflictError(
                f"Só um documento aprovado pode ser consolidado; este está '{doc.status}'. "
                "Aprove-o primeiro (transição para 'aprovado').",
                status=str(doc.status),
            )
        return run_info(doc)


def publishable(document_id: uuid.UUID, actor: Any, cnpj: str, ano: int, sequencial: int) -> dict[str, Any]:
    """Check a publish-pncp run can start: the person may publish for the document's órgão, the contratação's key
    and every file to send are acceptable to PNCP, and this platform has PNCP credentials."""
    from models.crud.publications import publication_plan
    from models.pncp_rules import check_contratacao, check_titulo
    from models.rules import check_can_publish
    from tasks.pncp.integration import configured

    digits = check_contratacao(cnpj, ano, sequencial)
    with session_scope() as session:
        doc = get_document(session, document_id)
        check_can_publish(actor, doc.orgao)
        plan = publication_plan(session, document_id)  # 409 for a status or a signature that is not ready
        for file in plan["files"]:
            check_titulo(file["titulo"])
        if not configured():
            raise PncpUnavailable(
                "Esta plataforma não tem credenciais do PNCP (PNCP_LOGIN e PNCP_PASSWORD): só plataformas "
                "credenciadas publicam na API de integração. Peça ao operador que as configure (docs/operations.md)."
            )
        return run_info(doc) | {"cnpj": digits}


class PncpUnavailable(DomainError):
    """Publishing is not possible on this platform now (no PNCP credentials): 503."""

    status_code = 503
