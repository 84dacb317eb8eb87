"""Failure events of the flows (generation.failed, consolidation.failed), written by the flows' state hooks."""

from __future__ import annotations

import uuid
from typing import Any

from core.logging import get_logger, trace_id_from_tags
from models.rules import REDACTED_RUN_MESSAGE, run_message

log = get_logger("nexora.notifications")


def record_failure(event_type: str, flow_run: Any, state: Any) -> None:
    """Write the failure event for the run's document and start a delivery run; never raises (it is a hook)."""
    from models.crud.notifications import record_document_event, record_event
    from models.db import session_scope
    from models.document import Document
    from tasks.notify.kick import start_delivery_run

    details = {"flow_run_id": str(flow_run.id), "flow_run_name": flow_run.name}
    trace_id = trace_id_from_tags(flow_run.tags or [])
    try:
        raw = (flow_run.parameters or {}).get("document_id")
        with session_scope() as session:
            document = session.get(Document, uuid.UUID(str(raw))) if raw else None
            # subscribers have no scope: a message that may quote a sigiloso estimate is not told
            secret = document is not None and document.estimate_secret
            message = (
                REDACTED_RUN_MESSAGE if secret and state.message else run_message(flow_run.tags or [], state.message)
            )
            details["error"] = (message or state.name or "")[:2000]
            if document is not None:
                record_document_event(session, event_type, document, trace_id=trace_id, **details)
            else:
                record_event(session, event_type, data=details, trace_id=trace_id)
    except Exception as exc:  # noqa: BLE001 - a hook must not hide the run's own failure
        log.error("evento %s da execução %s não registrado: %s: %s", event_type, flow_run.id, type(exc).__name__, exc)
        return
    start_delivery_run()


def on_generation_failure(flow: Any, flow_run: Any, state: Any) -> None:
    record_failure("generation.failed", flow_run, state)


def on_consolidation_failure(flow: Any, flow_run: Any, state: Any) -> None:
    record_failure("consolidation.failed", flow_run, state)


def on_signature_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """The signature request of the run becomes `falhou` with the reason, so that a new request may be made; never
    raises (it is a hook)."""
    from sqlmodel import select

    from models.db import session_scope
    from models.signature import DocumentSignature, SignatureStatus

    reason = (state.message or state.name or "falha")[:4000]
    try:
        with session_scope() as session:
            rows = session.exec(
                select(DocumentSignature).where(
                    DocumentSignature.flow_run_id == str(flow_run.id),
                    DocumentSignature.status == SignatureStatus.PENDENTE,
                )
            ).all()
            for row in rows:
                row.status, row.erro = SignatureStatus.FALHOU, reason
                session.add(row)
    except Exception as exc:  # noqa: BLE001 - a hook must not hide the run's own failure
        log.error("assinatura da execução %s não marcada como falha: %s: %s", flow_run.id, type(exc).__name__, exc)
