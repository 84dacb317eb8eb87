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

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from core.logging import trace_id_from_tags
from flows._identity import run_identity
from tasks import run_logger
from tasks.retry import DB_RETRIES, retry_on

EVENT = "flow_run.failed"
FLOW_RUN_PREFIX = "prefect.flow-run."


def _run_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value).removeprefix(FLOW_RUN_PREFIX))
    except ValueError as exc:
        raise ValueError(f"identificador de execução inválido: {value!r}") from exc


class RunNotFound(LookupError):
    """The run to report does not exist on the Prefect server."""


@task(name="read-failed-run", retries=2, retry_delay_seconds=[2, 10],
      retry_condition_fn=retry_on(Exception, unless=RunNotFound), cache_policy=NO_CACHE)
def read_failed_run(target: uuid.UUID) -> dict[str, Any] | None:
    """What the event says about the run, or None when it is not failed or crashed (or is a report itself)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from core.settings import settings

    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(target)
        except ObjectNotFound:
            raise RunNotFound(f"execução {target} não encontrada no servidor Prefect") from None
        flow_name = client.read_flow(run.flow_id).name
        deployment = client.read_deployment(run.deployment_id).name if run.deployment_id else None
    state = run.state
    if state is None or state.type.value not in ("FAILED", "CRASHED"):
        run_logger().info("execução %s está em %s: nada a notificar", target, state.name if state else "?")
        return None
    if flow_name == "report-run-failure":  # never report a report: no loop between the automation and this flow
        return None
    state_key = f"{state.type.value}:{state.timestamp.isoformat() if state.timestamp else ''}"
    return {"flow_run_id": str(target), "flow_run_name": run.name, "flow_name": flow_name,
            "deployment": f"{flow_name}/{deployment}" if deployment else None, "state": state.name,
            "state_key": state_key, "error": (state.message or "")[:2000],
            "ui_url": f"{settings.prefect_ui_url}/runs/flow-run/{target}",
            "trace_id": trace_id_from_tags(run.tags or [])}


@task(name="record-failure-event", cache_policy=NO_CACHE, **DB_RETRIES)
def record_failure_event(data: dict[str, Any]) -> str | None:
    """Record the event unless this run's failure in this state was already recorded (last 30 days)."""
    from sqlmodel import col, select

    from models.crud.notifications import record_event
    from models.db import session_scope, utcnow
    from models.notification import Event

    with session_scope() as session:
        since = utcnow() - timedelta(days=30)
        seen = session.exec(select(Event.data).where(
            Event.type == EVENT, col(Event.occurred_at) >= since,
            col(Event.data)["flow_run_id"].as_string() == data["flow_run_id"])).all()
        if any(found.get("state_key") == data["state_key"] for found in seen):
            return None
        event = record_event(session, EVENT, data={k: v for k, v in data.items() if v is not None},
                             trace_id=data.get("trace_id"))
        return str(event.id)


@flow(name="report-run-failure", persist_result=True, result_serializer="json")
def report_run_failure(flow_run_id: str) -> dict[str, Any]:
    """Record `flow_run.failed` for the run (if it is failed or crashed and not reported yet) and start delivery."""
    from tasks.kick import start_delivery_run

    log = run_logger()
    target = _run_id(flow_run_id)
    own_id, _ = run_identity()
    data = read_failed_run(target)
    if data is None:
        return {"recorded": False, "reason": "not-failed"}
    event_id = record_failure_event({**data, "reported_by": str(own_id)})
    if event_id is None:
        log.info("falha da execução %s (%s) já notificada", target, data["state"])
        return {"recorded": False, "reason": "already-reported"}
    log.warning("execução %s (%s) em %s: evento %s registrado", data["flow_run_name"], data["flow_name"],
                data["state"], event_id)
    start_delivery_run()
    return {"recorded": True, "event_id": event_id, "state": data["state"]}
