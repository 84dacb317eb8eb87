"""What the Prefect server will run next: each deployment's schedules, its next scheduled run and its last run.

A schedule can look fine in the UI and still produce nothing (Prefect's scheduler logs the error and moves on):
the proof that a schedule works is a scheduled flow run. `/api/v1/health` and `nexora deployments status` both
read it from here, and flag an active schedule with no upcoming run once the scheduler has had time to make one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound

from deployments.catalog import DEPLOYMENTS, TIMEZONE, DeploymentSpec

# Prefect's scheduler looks for deployments to schedule every 60 s by default
# (PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS): a schedule younger than this may not have runs yet.
SCHEDULER_GRACE = timedelta(seconds=180)


@dataclass(frozen=True)
class DeploymentStatus:
    deployment: str
    schedules: tuple[str, ...]  # "0 3 * * * (America/Sao_Paulo)", "a cada 60 s", "… (inativo)"; empty: on demand
    paused: bool
    next_run: datetime | None
    last_run_state: str | None
    last_run_time: datetime | None
    problem: str | None  # in Portuguese, for the operator

    def as_json(self) -> dict[str, Any]:
        return {
            "agendamentos": list(self.schedules),
            "pausado": self.paused,
            "proxima_execucao": self.next_run.isoformat() if self.next_run else None,
            "ultima_execucao": (
                {
                    "estado": self.last_run_state,
                    "quando": self.last_run_time.isoformat() if self.last_run_time else None,
                }
                if self.last_run_state
                else None
            ),
            "problema": self.problem,
        }


def describe_schedule(schedule: Any) -> str:
    """A schedule in a line: the cron with its time zone, or the interval."""
    if getattr(schedule, "cron", None):
        return f"{schedule.cron} ({schedule.timezone or 'UTC'})"
    if getattr(schedule, "interval", None):
        return f"a cada {int(schedule.interval.total_seconds())} s"
    return type(schedule).__name__


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(ZoneInfo(TIMEZONE)) if moment else None


def schedule_problem(
    active_schedules: int, paused: bool, next_run: datetime | None, updated: datetime | None, now: datetime
) -> str | None:
    """Why an operator should look: an active schedule with no run ahead, once the scheduler had its chance."""
    if not active_schedules or paused or next_run is not None:
        return None
    if updated is not None and now - updated < SCHEDULER_GRACE:
        return None
    return (
        "agendamento ativo sem nenhuma execução agendada: veja o log do servidor Prefect "
        '("Error scheduling deployment")'
    )


async def _runs(
    client: PrefectClient, deployment_id: UUID, states: list[StateType] | None, sort: FlowRunSort, exclude: bool = False
) -> list[FlowRun]:
    state_filter = None
    if states:
        state_filter = FlowRunFilter(
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(**({"not_any_": states} if exclude else {"any_": states}))
            )
        )
    return await client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=state_filter,
        sort=sort,
        limit=1,
    )


async def deployment_status(
    client: PrefectClient, spec: DeploymentSpec, now: datetime | None = None
) -> DeploymentStatus:
    now = now or datetime.now(UTC)
    try:
        deployment = await client.read_deployment_by_name(spec.full_name)
    except ObjectNotFound:
        return DeploymentStatus(spec.flow_name, (), False, None, None, None, "não implantado neste servidor Prefect")
    active = [s for s in deployment.schedules if s.active]
    upcoming, last = await asyncio.gather(
        _runs(client, deployment.id, [StateType.SCHEDULED], FlowRunSort.EXPECTED_START_TIME_ASC),
        _runs(client, deployment.id, [StateType.SCHEDULED], FlowRunSort.EXPECTED_START_TIME_DESC, exclude=True),
    )
    next_run = upcoming[0].expected_start_time if upcoming else None
    last_run = last[0] if last else None
    return DeploymentStatus(
        deployment=spec.flow_name,
        schedules=tuple(
            describe_schedule(s.schedule) + ("" if s.active else " (inativo)") for s in deployment.schedules
        ),
        paused=bool(deployment.paused),
        next_run=local(next_run),
        last_run_state=last_run.state_name if last_run else None,
        last_run_time=local(last_run.start_time or last_run.expected_start_time) if last_run else None,
        problem=schedule_problem(len(active), bool(deployment.paused), next_run, deployment.updated, now),
    )


async def deployments_status(
    client: PrefectClient, specs: tuple[DeploymentSpec, ...] = DEPLOYMENTS
) -> list[DeploymentStatus]:
    return list(await asyncio.gather(*(deployment_status(client, spec) for spec in specs)))
