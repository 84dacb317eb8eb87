"""The signatures of a consolidated document: the request, the pending digest of an external signer, the signed
PDF registered with its row (and the status assinado when the last named person signed), or the failure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from models import signing_rules
from models.artifact import Artifact
from models.crud.documents import document_view, get_document, responsibles, set_status
from models.crud.notifications import record_document_event
from models.db import utcnow
from models.document import Document
from models.enums import DocumentStatus
from models.errors import ConflictError, NotFoundError
from models.signature import DocumentSignature, SignatureStatus

SIGNED_KIND = "assinado"


@dataclass
class SigningState:
    document: Document
    order: list[signing_rules.NamedSigner]
    rows: list[DocumentSignature]  # of the current version, in the document's order

    @property
    def signed(self) -> list[str]:
        return [r.person for r in self.rows if r.status == SignatureStatus.ASSINADA]

    @property
    def expected(self) -> signing_rules.NamedSigner | None:
        return signing_rules.next_signer(self.order, self.signed)

    def row_of(self, person: str) -> DocumentSignature | None:
        return next((r for r in self.rows if r.person == person), None)


def signing_state(session: Session, document_id: uuid.UUID, *, for_update: bool = False) -> SigningState:
    document = get_document(session, document_id, for_update=for_update)
    order = signing_rules.signing_order(responsibles(session, document_view(session, document_id)))
    rows = session.exec(
        select(DocumentSignature)
        .where(DocumentSignature.document_id == document_id, DocumentSignature.document_version == document.version)
        .order_by(col(DocumentSignature.seq))
    ).all()
    return SigningState(document, order, list(rows))


def latest_signed(session: Session, document_id: uuid.UUID, version: int) -> Artifact | None:
    """The signed PDF of the version with the most signatures (what the next signer signs, and what is published)."""
    return session.exec(
        select(Artifact)
        .where(
            Artifact.document_id == document_id,
            Artifact.document_version == version,
            Artifact.kind == SIGNED_KIND,
        )
        .order_by(col(Artifact.signatures).desc())
    ).first()


def check_request(
    session: Session, document_id: uuid.UUID, person: str, flow_run_id: str | None = None, *, for_update: bool = False
) -> tuple[SigningState, signing_rules.NamedSigner]:
    """The rules of signing_rules.check_may_sign, and no other request of the person in progress."""
    state = signing_state(session, document_id, for_update=for_update)
    named = signing_rules.check_may_sign(state.document.status, state.order, state.signed, person)
    row = state.row_of(person)
    if row is not None and row.status == SignatureStatus.PENDENTE and row.flow_run_id not in (None, flow_run_id):
        raise ConflictError(
            f"Já há um pedido de assinatura de {named.name} em andamento (execução {row.flow_run_id}); aguarde-o "
            "ou, se for externa, envie o CMS.",
            flow_run_id=row.flow_run_id,
            signature_id=str(row.id),
        )
    return state, named


def request_signature(
    session: Session, document_id: uuid.UUID, person: str, backend: str, flow_run_id: str | None = None
) -> DocumentSignature:
    """Check the person may sign now (named, in order, consolidated, not signed yet, no request in progress) and
    record the request (status pendente). A failed earlier request of the same person is replaced."""
    state, named = check_request(session, document_id, person, flow_run_id, for_update=True)
    row = state.row_of(person)
    if row is None:
        row = DocumentSignature(
            document_id=document_id,
            document_version=state.document.version,
            seq=named.seq,
            person=person,
            name=named.name,
            role=named.role,
            backend=backend,
        )
    row.seq, row.name, row.role, row.backend = named.seq, named.name, named.role, backend
    row.status, row.erro, row.digest, row.flow_run_id = SignatureStatus.PENDENTE, None, None, flow_run_id
    row.requested_at = utcnow()
    session.add(row)
    session.flush()
    return row


def get_signature(session: Session, document_id: uuid.UUID, signature_id: uuid.UUID) -> DocumentSignature:
    row = session.get(DocumentSignature, signature_id)
    if row is None or row.document_id != document_id:
        raise NotFoundError(f"Assinatura {signature_id} não encontrada no documento {document_id}.")
    return row


def attach_run(session: Session, signature_id: uuid.UUID, flow_run_id: str | None) -> DocumentSignature:
    """The run that carries the request (None: it was not started; the row stays as it is)."""
    row = session.get(DocumentSignature, signature_id)
    if row is None:
        raise NotFoundError(f"Assinatura {signature_id} não encontrada.")
    if flow_run_id:
        row.flow_run_id = flow_run_id
    session.add(row)
    session.flush()
    return row


def record_pending_digest(
    session: Session, signature_id: uuid.UUID, digest: str, input_sha256: str, subject: str, serial: str
) -> None:
    """An external signature waits: what the signer must sign (hex SHA-256 of the byte range) and on which PDF."""
    row = session.get(DocumentSignature, signature_id)
    if row is None:
        raise NotFoundError(f"Assinatura {signature_id} não encontrada.")
    row.digest, row.input_sha256 = digest, input_sha256
    row.certificate_subject, row.certificate_serial = subject[:500], serial[:100]
    session.add(row)


def mark_failed(session: Session, signature_id: uuid.UUID, reason: str) -> None:
    row = session.get(DocumentSignature, signature_id)
    if row is not None and row.status == SignatureStatus.PENDENTE:
        row.status, row.erro = SignatureStatus.FALHOU, reason[:4000]
        session.add(row)


def register_signature(
    session: Session,
    signature_id: uuid.UUID,
    stored: dict[str, Any],
    validation: dict[str, Any],
    *,
    input_sha256: str,
    flow_run_id: str | None,
    trace_id: str | None,
) -> tuple[Artifact, bool]:
    """The signed PDF as a new artifact (kind assinado), the row assinada and, when the last named person signed,
    the document assinado with its audit row and the document.signed event: one transaction. A rerun that finds
    the same signed file changes nothing. Returns the artifact and whether the document is now assinado."""
    row = session.get(DocumentSignature, signature_id)
    if row is None:
        raise NotFoundError(f"Assinatura {signature_id} não encontrada.")
    state = signing_state(session, row.document_id, for_update=True)
    document = state.document
    if row.status == SignatureStatus.ASSINADA and row.artifact_id:
        artifact = session.get(Artifact, row.artifact_id)
        if artifact is not None and artifact.sha256 == stored["sha256"]:
            return artifact, document.status == DocumentStatus.ASSINADO
        raise ConflictError(f"{row.name} já assinou esta versão com outro arquivo.")
    if document.version != row.document_version:
        raise ConflictError(f"O documento mudou para a versão {document.version} durante a assinatura.")
    signing_rules.check_may_sign(document.status, state.order, state.signed, row.person)
    previous = latest_signed(session, document.id, document.version)
    base = previous or _consolidated_pdf(session, document)
    if base.sha256 != input_sha256:
        raise ConflictError("O PDF mudou durante a assinatura (outra assinatura foi registrada antes); peça de novo.")
    signers = [*(previous.signers if previous else []), row.person]
    artifact = Artifact(
        document_id=document.id,
        document_version=document.version,
        format="pdf",
        kind=SIGNED_KIND,
        classified=False,
        signatures=len(signers),
        signers=signers,
        storage_uri=stored["uri"],
        key=stored["key"],
        sha256=stored["sha256"],
        size_bytes=stored["size"],
        template_id=base.template_id,
        template_version=base.template_version,
        flow_run_id=flow_run_id,
        trace_id=trace_id,
    )
    session.add(artifact)
    session.flush()
    row.status, row.erro, row.signed_at, row.artifact_id = SignatureStatus.ASSINADA, None, utcnow(), artifact.id
    row.validation, row.level, row.input_sha256 = validation, validation.get("level"), input_sha256
    row.certificate_subject = str(validation.get("signer", ""))[:500]
    row.certificate_serial = str(validation.get("serial", ""))[:100]
    session.add(row)
    complete = signing_rules.next_signer(state.order, [*state.signed, row.person]) is None
    if complete:
        set_status(
            session,
            document,
            DocumentStatus.ASSINADO,
            reason=f"versão {document.version} assinada por {', '.join(signers)}",
            actor="sign-document",
            person=row.person,
            trace_id=trace_id,
        )
        record_document_event(
            session,
            "document.signed",
            document,
            trace_id=trace_id,
            flow_run_id=flow_run_id,
            signers=signers,
            artifact={"format": "pdf", "sha256": artifact.sha256, "size_bytes": artifact.size_bytes},
        )
    session.flush()
    return artifact, complete


def _consolidated_pdf(session: Session, document: Document) -> Artifact:
    pdf = session.exec(
        select(Artifact).where(
            Artifact.document_id == document.id,
            Artifact.document_version == document.version,
            Artifact.kind == "documento",
            Artifact.format == "pdf",
            col(Artifact.classified).is_(False),
        )
    ).first()
    if pdf is None:
        raise ConflictError(f"O documento não tem PDF consolidado na versão {document.version}; consolide-o antes.")
    return pdf


def pdf_to_sign(session: Session, document_id: uuid.UUID) -> Artifact:
    """What the next signer signs: the latest signed PDF of the version, or the consolidated PDF for the first."""
    document = get_document(session, document_id)
    return latest_signed(session, document_id, document.version) or _consolidated_pdf(session, document)
