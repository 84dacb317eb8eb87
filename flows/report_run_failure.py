"""report-run-failure: a failed or crashed flow run becomes a `flow_run.failed` event in our outbox.

Started by the Prefect automation that `nexora setup` applies ("nexora: execução com falha → notificação"), with the
run's id from the event. It reaches runs whose own failure hooks never ran (a worker killed, a run marked crashed
when its heartbeats stopped), and it is the one event operators subscribe to for every flow. One event per run and
final state: a second report of the same state (the automation fired twice, the run was retried) writes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow

from flows._identity import run_identity
from tasks import run_logger
from tasks.notify.tasks import record_failure_event
from tasks.runs.tasks import read_failed_run

FLOW_RUN_PREFIX = "prefect.flow-run."


def _run_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value).removeprefix(FLOW_RUN_PREFIX))
    except ValueError as exc:
        raise ValueError(f"identificador de execução inválido: {value!r}") from exc


@flow(name="report-run-failure", persist_result=True, result_serializer="json")
def report_run_failure(flow_run_id: str) -> dict[str, Any]:
    """Record `flow_run.failed` for the run (if it is failed or crashed and not reported yet) and start delivery."""
    from tasks.notify.kick import start_delivery_run

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
    log.warning(
        "execução %s (%s) em %s: evento %s registrado",
        data["flow_run_name"],
        data["flow_name"],
        data["state"],
        event_id,
    )
    start_delivery_run()
    return {"recorded": True, "event_id": event_id, "state": data["state"]}
