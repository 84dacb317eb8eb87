"""Tasks of sign-document: load what is to be signed, sign (PKCS#12) or prepare and finish (external CMS), validate,
store the signed PDF, register it. PDFs pass between tasks in memory only (no persisted results)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from core.settings import settings
from models.crud.documents import document_view
from models.crud.signatures import pdf_to_sign, record_pending_digest, register_signature, request_signature
from models.db import session_scope
from models.signing_rules import signing_order
from tasks import run_logger
from tasks.retry import DB_RETRIES
from tasks.sign import pades
from tasks.sign.signers import Pkcs12Signer, load_certificates, timestamper, trust_roots
from tasks.storage.store import get_store, sha256_hex, store_for_uri
from tasks.storage.tasks import storage_retry

IN_MEMORY = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="load-signing-input", **DB_RETRIES, **IN_MEMORY)
def load_signing_input(document_id: uuid.UUID, person: str, backend: str, flow_run_id: str | None) -> dict[str, Any]:
    """Check the person may sign now, record the request (pendente, with this run) and read the PDF to sign."""
    from models.crud.documents import responsibles

    with session_scope() as session:
        row = request_signature(session, document_id, person, backend, flow_run_id)
        view = document_view(session, document_id)
        order = signing_order(responsibles(session, view))
        source = pdf_to_sign(session, document_id)
        document = view.document
        job = {
            "signature_id": row.id,
            "seq": row.seq,
            "version": document.version,
            "heading": f"{document.kind} {document.numero_processo} - {document.titulo} (versão {document.version})"[
                :110
            ],
            "slots": [pades.Slot(s.seq, s.name, s.identifier, s.role_label) for s in order],
            "source": {"uri": source.storage_uri, "key": source.key, "sha256": source.sha256},
        }
    with store_for_uri(job["source"]["uri"]).open(job["source"]["key"]) as handle:
        pdf = handle.read()
    if sha256_hex(pdf) != job["source"]["sha256"]:
        raise pades.SignatureInvalid(f"o PDF armazenado {job['source']['key']} não confere com o hash registrado")
    job["pdf"] = pdf
    return job


def _slot(job: dict[str, Any]) -> pades.Slot:
    return job["slots"][job["seq"] - 1]


@task(name="sign-pkcs12", **IN_MEMORY)
def sign_with_pkcs12(job: dict[str, Any], person: str) -> bytes:
    """Sign with the person's certificate held by the platform (SIGNING_PKCS12_FILE)."""
    signer = Pkcs12Signer(person)
    signed = pades.sign(
        job["pdf"],
        signer.pyhanko_signer(),
        _slot(job),
        job["slots"],
        job["heading"],
        timestamper=timestamper(),
        location=settings.SIGNING_LOCATION,
    )
    run_logger().info("signed with %s (%s)", signer.path.name, signer.certificate.subject.human_friendly)
    return signed


@task(name="prepare-external-signature", **IN_MEMORY)
def prepare_external_signature(job: dict[str, Any], certificate_pem: str) -> pades.Prepared:
    """Write the field and reserve /Contents; record the digest the external signer must sign."""
    certificates = load_certificates(certificate_pem)
    prepared = pades.prepare_external(
        job["pdf"],
        certificates[0],
        _slot(job),
        job["slots"],
        job["heading"],
        chain=certificates[1:],
        location=settings.SIGNING_LOCATION,
    )
    with session_scope() as session:
        record_pending_digest(
            session,
            job["signature_id"],
            prepared.digest_hex,
            job["source"]["sha256"],
            certificates[0].subject.human_friendly,
            format(certificates[0].serial_number, "x"),
        )
    run_logger().info("waiting for the CMS over digest %s", prepared.digest_hex)
    return prepared


@task(name="finish-external-signature", **IN_MEMORY)
def finish_external_signature(prepared: pades.Prepared, cms_base64: str) -> bytes:
    try:
        cms_der = base64.b64decode(cms_base64, validate=True)
    except ValueError as exc:
        raise pades.SignatureInvalid(f"cms_base64 não é base64 válido: {exc}") from exc
    return pades.finish_external(prepared, cms_der, timestamper())


@task(name="validate-signature", **IN_MEMORY)
def validate_signature(signed: bytes, seq: int) -> dict[str, Any]:
    """pyHanko's validation of the signature just applied (and that every earlier one is still intact and valid)."""
    summary = pades.check_applied(signed, seq, trust_roots())
    run_logger().info(
        "signature %s: intact=%s valid=%s trusted=%s level=%s",
        summary["field"],
        summary["intact"],
        summary["valid"],
        summary["trusted"],
        summary["level"],
    )
    return summary


@task(
    name="store-signed-pdf",
    retries=2,
    retry_delay_seconds=[1, 4],
    retry_condition_fn=storage_retry,
    **IN_MEMORY,
)
def store_signed_pdf(document_id: uuid.UUID, version: int, signed: bytes) -> dict[str, Any]:
    """Under a content-addressed key (documents/{id}/v{n}/assinado/{sha256}.pdf): a retry rewrites nothing."""
    digest = sha256_hex(signed)
    result = get_store().put(f"documents/{document_id}/v{version}/assinado/{digest}.pdf", signed, "application/pdf")
    return {"key": result.key, "uri": result.uri, "sha256": result.sha256, "size": result.size, "reused": result.reused}


@task(name="register-signature", **DB_RETRIES, **IN_MEMORY)
def register(
    job: dict[str, Any],
    stored: dict[str, Any],
    validation: dict[str, Any],
    flow_run_id: str | None,
    trace_id: str | None,
) -> dict[str, Any]:
    with session_scope() as session:
        artifact, complete = register_signature(
            session,
            job["signature_id"],
            stored,
            validation,
            input_sha256=job["source"]["sha256"],
            flow_run_id=flow_run_id,
            trace_id=trace_id,
        )
        return {
            "artifact_id": str(artifact.id),
            "sha256": artifact.sha256,
            "signatures": artifact.signatures,
            "signers": list(artifact.signers),
            "document_signed": complete,
        }


@task(name="publish-signature-artifact", retries=1, **IN_MEMORY)
def publish_signature_note(document_id: uuid.UUID, title: str, lines: list[str]) -> None:
    """A note on the run page: what an external signer must sign while the run is Paused, or who signed and how."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        key=f"signature-{document_id}".lower()[:60],
        markdown=f"### {title}\n\n" + "\n".join(f"- {line}" for line in lines),
        description=title,
    )
