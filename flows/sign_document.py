"""sign-document: one named person signs the consolidated document (PAdES), in the order the document names them.

Load (check the person may sign now, record the request) → sign with the person's PKCS#12, or prepare the field,
record the digest and pause (Paused in the Prefect UI) until the app posts the external CMS → validate the signature
just applied (and every earlier one) → store the signed PDF → register it as a new artifact, with the status assinado
when the last named person signed. A failure marks the request `falhou` with the reason (a new request may be made)
and registers nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput

from core.settings import settings
from flows._events import on_signature_failure
from flows._identity import run_identity
from flows._steps import run_step
from tasks.notify.kick import start_delivery_run
from tasks.sign.tasks import (
    finish_external_signature,
    load_signing_input,
    prepare_external_signature,
    publish_signature_note,
    register,
    sign_with_pkcs12,
    store_signed_pdf,
    validate_signature,
)


class SigningFailed(RuntimeError):
    """One step of the signature failed; nothing was registered."""


class CmsInput(RunInput):
    """What resumes a paused external signature: the detached CMS SignedData over the PDF's byte range, base64."""

    cms_base64: str


def _step(name: str, task, *args):
    return run_step(
        task,
        *args,
        failed=lambda reason: SigningFailed(
            f"Assinatura falhou na etapa '{name}': {reason}. Nada foi registrado; o pedido fica 'falhou' e pode ser "
            "feito de novo."
        ),
    )


@flow(
    name="sign-document",
    persist_result=True,
    result_serializer="json",
    on_failure=[on_signature_failure],
    on_crashed=[on_signature_failure],
    on_cancellation=[on_signature_failure],
)
def sign_document(
    document_id: uuid.UUID,
    person: str,
    backend: str = "pkcs12",
    certificate_pem: str | None = None,
) -> dict[str, Any]:
    """`person` (an identifier the document names) signs the consolidated document with `backend` ("pkcs12" or
    "external"; `certificate_pem`: the external signer's certificate)."""
    run_id, trace_id = run_identity()
    job = _step("carregar documento e pedido", load_signing_input, document_id, person, backend, run_id)
    if backend == "external":
        if not certificate_pem:
            raise SigningFailed("Assinatura externa sem certificado_pem.")
        prepared = _step("preparar o campo e o resumo a assinar", prepare_external_signature, job, certificate_pem)
        publish_signature_note(
            document_id,
            "Assinatura externa: aguardando o CMS",
            [
                f"signatário: {person} (assinatura {job['seq']} de {len(job['slots'])})",
                f"resumo SHA-256 a assinar (messageDigest): `{prepared.digest_hex}`",
                f"envie: POST /api/v1/documents/{document_id}/signatures/{job['signature_id']}/cms",
            ],
            return_state=True,
        )
        received = pause_flow_run(
            wait_for_input=CmsInput,
            timeout=settings.SIGNING_EXTERNAL_TIMEOUT_SECONDS,
            poll_interval=2,
            key=f"cms-{job['signature_id']}",
        )
        signed = _step("aplicar o CMS externo", finish_external_signature, prepared, received.cms_base64)
    else:
        signed = _step("assinar com o certificado (pkcs12)", sign_with_pkcs12, job, person)
    validation = _step("validar a assinatura", validate_signature, signed, job["seq"])
    stored = _step("armazenar o PDF assinado", store_signed_pdf, document_id, job["version"], signed)
    registered = _step("registrar assinatura e status", register, job, stored, validation, run_id, trace_id)
    if registered["document_signed"]:
        start_delivery_run()  # the document.signed event was committed with the status
    publish_signature_note(
        document_id,
        f"Assinatura {job['seq']} de {len(job['slots'])}: {person}",
        [
            f"PAdES {validation['level']}; íntegra {validation['intact']}, válida {validation['valid']}, "
            f"confiável {validation['trusted']}",
            f"certificado: {validation['signer']}",
            f"PDF assinado: sha256 `{registered['sha256']}`, {registered['signatures']} assinatura(s)",
            "documento assinado por todos" if registered["document_signed"] else "faltam assinaturas",
        ],
        return_state=True,
    )
    return {
        "document_id": str(document_id),
        "version": job["version"],
        "person": person,
        "seq": job["seq"],
        "level": validation["level"],
        "validation": validation,
        "artifact": registered,
    }
