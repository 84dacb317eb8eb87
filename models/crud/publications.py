"""The PNCP publication registry: which file of a document goes to a contratação, the row recorded before each
request (so a rerun looks for it on PNCP instead of sending it again), and the publicado status with its event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.artifact import Artifact
from models.crud.documents import get_document, set_status
from models.crud.notifications import record_document_event
from models.db import utcnow
from models.document import Document
from models.enums import DocumentStatus
from models.errors import ConflictError, NotFoundError
from models.pncp_rules import TIPO_OF_KIND, TIPO_OUTROS, check_file_size, publication_title
from models.publication import PncpPublication, PublicationStatus
from models.signature import DocumentSignature, SignatureStatus

PUBLISHABLE = (DocumentStatus.CONSOLIDADO, DocumentStatus.ASSINADO, DocumentStatus.PUBLICADO)


def signed_pdf(session: Session, document_id: uuid.UUID, version: int) -> Artifact | None:
    """The signed PDF of the version (kind "assinado") that carries the most signatures."""
    return session.exec(
        select(Artifact)
        .where(Artifact.document_id == document_id, Artifact.document_version == version)
        .where(Artifact.kind == "assinado", Artifact.format == "pdf", col(Artifact.classified).is_(False))
        .order_by(col(Artifact.signatures).desc())
    ).first()


def consolidated_pdf(session: Session, document_id: uuid.UUID, version: int) -> Artifact | None:
    """The public consolidated PDF of the version (never the classified annex of a sigiloso estimate)."""
    return session.exec(
        select(Artifact)
        .where(Artifact.document_id == document_id, Artifact.document_version == version)
        .where(Artifact.kind == "documento", Artifact.format == "pdf", col(Artifact.classified).is_(False))
    ).first()


def signatures_applied(session: Session, document_id: uuid.UUID, version: int) -> int:
    return len(
        session.exec(
            select(DocumentSignature.id).where(
                DocumentSignature.document_id == document_id,
                DocumentSignature.document_version == version,
                DocumentSignature.status == SignatureStatus.ASSINADA,
            )
        ).all()
    )


def document_pdf(session: Session, document: Document) -> Artifact:
    """The PDF to publish: the signed one of an assinado document; the consolidated one of a document no one has
    signed yet; for a publicado document, the file its publication sent. A version signed by some of its signers
    but not all is refused: a half-signed file is not the act."""
    status, version = DocumentStatus(document.status), document.version
    if status not in PUBLISHABLE:
        raise ConflictError(
            f"Só um documento consolidado (ou assinado) é publicado no PNCP; este está '{status}'. Consolide-o "
            f"primeiro (POST /api/v1/documents/{document.id}/consolidate).",
            status=str(status),
        )
    if status == DocumentStatus.PUBLICADO:
        sent = session.exec(
            select(PncpPublication).where(
                PncpPublication.document_id == document.id,
                PncpPublication.document_version == version,
                PncpPublication.tipo_documento_id == TIPO_OF_KIND[str(document.kind)],
            )
        ).first()
        if sent is not None:
            artifact = session.get(Artifact, sent.artifact_id)
            if artifact is not None:
                return artifact
    if status == DocumentStatus.ASSINADO or (
        status == DocumentStatus.PUBLICADO and signed_pdf(session, document.id, version)
    ):
        signed = signed_pdf(session, document.id, version)
        if signed is None:
            raise ConflictError(
                f"O documento está assinado na versão {version}, mas o PDF assinado não foi encontrado."
            )
        return signed
    if signatures_applied(session, document.id, version):
        raise ConflictError(
            f"A versão {version} tem assinaturas pendentes: parte dos signatários já assinou. Publique depois da "
            "última assinatura (o documento fica 'assinado'), não um arquivo assinado pela metade.",
            status=str(status),
        )
    pdf = consolidated_pdf(session, document.id, version)
    if pdf is None:
        raise ConflictError(f"O PDF consolidado da versão {version} não foi encontrado; consolide o documento de novo.")
    return pdf


def research_report(session: Session, document: Document) -> Artifact | None:
    """The PDF of the Relatório de Pesquisa de Preços of the document's finalised research (a TR made from an ETP
    uses the ETP's), or None while the orçamento is sigiloso (Lei 14.133/2021, art. 24) or there is none."""
    from models.crud.price_research import finalised_figures

    if document.estimate_secret:
        return None
    research = finalised_figures(session, document.id)
    if not research:
        return None
    return session.exec(
        select(Artifact).where(
            Artifact.kind == "pesquisa_precos", Artifact.format == "pdf", Artifact.research_id == str(research["id"])
        )
    ).first()


def _file(document: Document, artifact: Artifact, tipo: int, report: bool) -> dict[str, Any]:
    check_file_size(artifact.size_bytes)
    return {
        "tipo": tipo,
        "artifact_id": str(artifact.id),
        "sha256": artifact.sha256,
        "size": artifact.size_bytes,
        "storage_uri": artifact.storage_uri,
        "key": artifact.key,
        "titulo": publication_title(
            str(document.kind), document.numero_processo, document.version, artifact.sha256, report
        ),
    }


def publication_plan(session: Session, document_id: uuid.UUID) -> dict[str, Any]:
    """What a publish-pncp run sends: the document's PDF (type 7 ETP, 4 TR) and, unless the estimate is sigiloso,
    the price research report (type 16, Outros)."""
    document = get_document(session, document_id)
    files = [_file(document, document_pdf(session, document), TIPO_OF_KIND[str(document.kind)], False)]
    report = research_report(session, document)
    if report is not None:
        files.append(_file(document, report, TIPO_OUTROS, True))
    return {
        "document_id": str(document.id),
        "kind": str(document.kind),
        "numero_processo": document.numero_processo,
        "version": document.version,
        "status": str(document.status),
        "sigiloso": document.estimate_secret,
        "files": files,
    }


def _same_file(cnpj: str, ano: int, sequencial: int, tipo: int, sha256: str) -> SelectOfScalar[PncpPublication]:
    return select(PncpPublication).where(
        PncpPublication.cnpj == cnpj,
        PncpPublication.ano == ano,
        PncpPublication.sequencial == sequencial,
        PncpPublication.tipo_documento_id == tipo,
        PncpPublication.sha256 == sha256,
        PncpPublication.status != PublicationStatus.REMOVIDO,
    )


def begin(
    session: Session,
    document_id: uuid.UUID,
    version: int,
    contratacao: tuple[str, int, int],
    file: dict[str, Any],
    requested_by: str | None,
    flow_run_id: str | None,
) -> PncpPublication:
    """The row of this file on this contratação: the one already there (publicado: nothing to send; enviando: a
    request whose answer may have been lost, to look for on PNCP), or a new one recorded as enviando before the
    request. The same file is never attached twice to a contratação, whichever document asks (an ETP and its TR
    cite the same price research report)."""
    cnpj, ano, sequencial = contratacao
    rows: list[PncpPublication] = list(
        session.exec(
            _same_file(cnpj, ano, sequencial, file["tipo"], file["sha256"]).order_by(col(PncpPublication.created_at))
        ).all()
    )
    published = [r for r in rows if r.status == PublicationStatus.PUBLICADO]
    if published or rows:
        return (published or rows)[0]
    row = PncpPublication(
        document_id=document_id,
        document_version=version,
        tipo_documento_id=file["tipo"],
        cnpj=cnpj,
        ano=ano,
        sequencial=sequencial,
        artifact_id=uuid.UUID(file["artifact_id"]),
        sha256=file["sha256"],
        titulo=file["titulo"],
        requested_by=requested_by,
        flow_run_id=flow_run_id,
    )
    session.add(row)
    session.flush()
    return row


def mark_published(session: Session, row_id: uuid.UUID, url: str, sequencial_documento: int) -> PncpPublication:
    row = session.get(PncpPublication, row_id)
    if row is None:
        raise NotFoundError(f"Publicação {row_id} não encontrada.")
    if row.status != PublicationStatus.PUBLICADO:
        row.status, row.url, row.sequencial_documento = PublicationStatus.PUBLICADO, url, sequencial_documento
        row.published_at = utcnow()
        session.add(row)
    return row


def superseded(
    session: Session, document_id: uuid.UUID, contratacao: tuple[str, int, int], tipo: int, keep_sha: str
) -> list[PncpPublication]:
    """The document's files of this type on this contratação that another file (a newer version) replaces."""
    cnpj, ano, sequencial = contratacao
    return list(
        session.exec(
            select(PncpPublication).where(
                PncpPublication.document_id == document_id,
                PncpPublication.cnpj == cnpj,
                PncpPublication.ano == ano,
                PncpPublication.sequencial == sequencial,
                PncpPublication.tipo_documento_id == tipo,
                PncpPublication.status == PublicationStatus.PUBLICADO,
                PncpPublication.sha256 != keep_sha,
            )
        ).all()
    )


def mark_removed(session: Session, row_id: uuid.UUID, reason: str) -> None:
    row = session.get(PncpPublication, row_id)
    if row is not None and row.status != PublicationStatus.REMOVIDO:
        row.status, row.removed_at, row.removal_reason = PublicationStatus.REMOVIDO, utcnow(), reason
        session.add(row)


def finish(
    session: Session,
    document_id: uuid.UUID,
    version: int,
    publications: list[dict[str, Any]],
    *,
    requested_by: str | None,
    trace_id: str | None,
    flow_run_id: str | None,
) -> bool:
    """Status publicado, its audit row and the event document.published, in one transaction; False (nothing
    written) when the version was already publicado and nothing new was sent (a rerun)."""
    document = get_document(session, document_id, for_update=True)
    if document.version != version:
        raise ConflictError(f"O documento mudou para a versão {document.version} durante a publicação.")
    sent = [p for p in publications if p.get("action") != "ja_publicado"]
    if document.status == DocumentStatus.PUBLICADO and not sent:
        return False  # a rerun: nothing new on PNCP, nothing to tell
    if document.status != DocumentStatus.PUBLICADO:
        set_status(
            session,
            document,
            DocumentStatus.PUBLICADO,
            reason=f"versão {version} publicada no PNCP: " + ", ".join(p["url"] for p in publications),
            actor="publish-pncp",
            person=requested_by,
            trace_id=trace_id,
        )
    record_document_event(  # also when a publicado version goes to one more contratação
        session,
        "document.published",
        document,
        trace_id=trace_id,
        flow_run_id=flow_run_id,
        publications=[
            {k: p[k] for k in ("tipo_documento_id", "url", "sequencial_documento", "sha256")} for p in publications
        ],
    )
    session.flush()
    return True


def publications_of(session: Session, document_id: uuid.UUID) -> list[PncpPublication]:
    get_document(session, document_id)
    return list(
        session.exec(
            select(PncpPublication)
            .where(PncpPublication.document_id == document_id)
            .order_by(col(PncpPublication.created_at))
        ).all()
    )
