"""report-run-failure: a failed or crashed flow run becomes a `flow_run.failed` event in our outbox.

Started by the Prefect automation that `nexora setup` applies ("nexora: execução com falha → notificação"), with the
run's id from the event. It reaches runs whose own failure hooks never ran (a worker killed, a run marked crashed
when its heartbeats stopped), and it is the one event operators subscribe to for every flow. One event per run and
final state: a second report of the same state (the automation fired twice, the run was retried) writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from prefect import flow

from core.logging import trace_id_from_tags
from flows._identity import run_identity
from tasks import run_logger

EVENT = "flow_run.failed"
FLOW_RUN_PREFIX = "prefect.flow-run."


def _run_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value).removeprefix(FLOW_RUN_PREFIX))
    except ValueError as exc:
        raise ValueError(f"identificador de execução inválido: {value!r}") from exc


@flow(name="report-run-failure", persist_result=True, result_serializer="json", retries=2,
      retry_delay_seconds=10)
def report_run_failure(flow_run_id: str) -> dict[str, Any]:
    """Record `flow_run.failed` for the run (if it is failed or crashed and not reported yet) and start delivery."""
    from prefect.client.orchestration import get_client
    from sqlmodel import select

    from core.settings import settings
    from models.crud.notifications import record_event
    from models.db import session_scope, utcnow
    from models.notification import Event
    from tasks.kick import start_delivery_run

    log = run_logger()
    target = _run_id(flow_run_id)
    own_id, _ = run_identity()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(target)
        flow_name = client.read_flow(run.flow_id).name
        deployment = client.read_deployment(run.deployment_id).name if run.deployment_id else None
    state = run.state
    if state is None or state.type.value not in ("FAILED", "CRASHED"):
        log.info("execução %s está em %s: nada a notificar", target, state.name if state else "?")
        return {"recorded": False, "reason": "not-failed"}
    if flow_name == "report-run-failure":  # never report a report: no loop between the automation and this flow
        return {"recorded": False, "reason": "own-run"}
    state_key = f"{state.type.value}:{state.timestamp.isoformat() if state.timestamp else ''}"
    data = {"flow_run_id": str(target), "flow_run_name": run.name, "flow_name": flow_name,
            "deployment": f"{flow_name}/{deployment}" if deployment else None, "state": state.name,
            "state_key": state_key, "error": (state.message or "")[:2000],
            "ui_url": f"{settings.prefect_ui_url}/runs/flow-run/{target}", "reported_by": str(own_id)}
    trace_id = trace_id_from_tags(run.tags or [])
    data["trace_id"] = trace_id
    with session_scope() as session:
        since = utcnow() - timedelta(days=30)
        seen = session.exec(select(Event).where(Event.type == EVENT, Event.occurred_at >= since)).all()
        if any(e.data.get("flow_run_id") == str(target) and e.data.get("state_key") == state_key for e in seen):
            log.info("falha da execução %s (%s) já notificada", target, state.name)
            return {"recorded": False, "reason": "already-reported"}
        event = record_event(session, EVENT, data={k: v for k, v in data.items() if v is not None},
                             trace_id=trace_id)
        event_id = str(event.id)
    log.warning("execução %s (%s) em %s: evento %s registrado", run.name, flow_name, state.name, event_id)
    start_delivery_run()
    return {"recorded": True, "event_id": event_id, "state": state.name}
