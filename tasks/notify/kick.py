"""Start a deliver-notifications run right after events are committed, without piling runs up (used by the
API, the CLI and the flows).

A run is created only when none is already waiting to start (Scheduled and due, or Pending): that waiting run
will claim the new rows when it starts. Best effort: when Prefect cannot be reached, the one-minute schedule
delivers the rows instead; nothing is lost either way.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from core.logging import get_logger

log = get_logger("nexora.notifications")
DELIVER = "deliver-notifications/nexora"


def start_delivery_run() -> str | None:
    """Create a deliver-notifications run unless nothing is due or one is waiting; returns the new run's id."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    from models.crud.notifications import due_count
    from models.db import session_scope

    try:
        with session_scope() as session:
            if not due_count(session):
                return None
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(DELIVER)
            waiting = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING])
                    ),
                    expected_start_time=FlowRunFilterExpectedStartTime(before_=datetime.now(UTC)),
                ),
                limit=1,
            )
            if waiting:
                return None
            run = client.create_flow_run_from_deployment(deployment.id, tags=["nexora", "trigger:event"])
            return str(run.id)
    except Exception as exc:  # noqa: BLE001 - the schedule is the safety net
        log.warning(
            "não foi possível iniciar deliver-notifications agora (%s: %s); o agendamento de 1 minuto "
            "entregará as notificações",
            type(exc).__name__,
            exc,
        )
        return None


class Kicker:
    """Coalesces requests from many commits into few runs, off the request path (one daemon thread)."""

    def __init__(self) -> None:
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def request(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="nexora-delivery-kick", daemon=True)
                self._thread.start()
        self._wanted.set()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            start_delivery_run()
