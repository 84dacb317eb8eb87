"""`nexora runs …`: the flow runs of a trace id (or the latest ones), and a new attempt of a failed run."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import httpx
import typer

from core.settings import settings
from deployments.cli.common import as_uuid, console, fail, fails_on
from deployments.operations.stack import apply_prefect_env

runs_app = typer.Typer(help="Execuções de fluxos no Prefect: busca por trace id, últimas execuções e nova tentativa.")
RETRYABLE = ("FAILED", "CRASHED", "CANCELLED")
STATES = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING", "COMPLETED", "FAILED", "CRASHED", "CANCELLED")
COLOURS = {"COMPLETED": "green", "FAILED": "red", "CRASHED": "bold red", "CANCELLED": "yellow", "RUNNING": "cyan"}


def _run_row(flow_run, flow_name: str | None, ui_url: str) -> dict[str, Any]:
    from core.logging import trace_id_from_tags

    state = flow_run.state

    def iso(value) -> str | None:
        return value.isoformat() if value else None

    return {
        "flow_run_id": str(flow_run.id),
        "flow_name": flow_name,
        "name": flow_run.name,
        "state": state.type.value if state else None,
        "state_name": state.name if state else None,
        "message": state.message if state else None,
        "trace_id": trace_id_from_tags(flow_run.tags),
        "deployment_id": str(flow_run.deployment_id) if flow_run.deployment_id else None,
        "run_count": flow_run.run_count,
        "expected_start_time": iso(flow_run.expected_start_time),
        "start_time": iso(flow_run.start_time),
        "end_time": iso(flow_run.end_time),
        "ui_url": f"{ui_url}/runs/flow-run/{flow_run.id}",
    }


async def find_runs(
    client,
    ui_url: str,
    *,
    trace_id: str | None = None,
    states: list[str] | None = None,
    flow: str | None = None,
    until: datetime | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The runs carrying the tag `trace:<trace_id>` (or any), in these states, of flows whose name contains
    `flow`, expected to start by `until` (not the schedule's future runs), the most recently started first."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterId,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    from core.logging import request_tag, trace_tag

    run_filter = FlowRunFilter(  # the server's trace id, or the caller's own X-Request-ID (tagged request:<id>)
        tags=FlowRunFilterTags(any_=[trace_tag(trace_id), request_tag(trace_id)]) if trace_id else None,
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in states])) if states else None,
        expected_start_time=FlowRunFilterExpectedStartTime(before_=until) if until else None,
    )
    runs = await client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(like_=flow)) if flow else None,
        flow_run_filter=run_filter,
        sort=FlowRunSort.START_TIME_DESC,
        limit=limit,
    )
    flow_ids = list({r.flow_id for r in runs})
    names = (
        {f.id: f.name for f in await client.read_flows(flow_filter=FlowFilter(id=FlowFilterId(any_=flow_ids)))}
        if flow_ids
        else {}
    )
    return [_run_row(r, names.get(r.flow_id), ui_url) for r in runs]


def _when(value: str | None) -> str:
    from deployments.catalog import TIMEZONE

    return datetime.fromisoformat(value).astimezone(ZoneInfo(TIMEZONE)).strftime("%d/%m %H:%M") if value else "-"


def _duration(row: dict[str, Any]) -> str:
    if not (row["start_time"] and row["end_time"]):
        return "-"
    seconds = (datetime.fromisoformat(row["end_time"]) - datetime.fromisoformat(row["start_time"])).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def runs_table(rows: list[dict[str, Any]], title: str):
    """The runs as a table that reads at 80 columns: flow and run name over the run's id (whole, to copy)."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="horários em America/Sao_Paulo",
        caption_justify="left",
    )
    table.add_column("fluxo · execução / id", overflow="fold", min_width=36)
    table.add_column("estado", no_wrap=True)
    table.add_column("início", no_wrap=True)
    table.add_column("duração", no_wrap=True, justify="right")
    for row in rows:
        table.add_row(
            f"{row['flow_name'] or '-'} · {row['name']}\n[dim]{row['flow_run_id']}[/]",
            _state_label(row),
            _when(row["start_time"]),
            _duration(row),
        )
    return table


def _state_label(row: dict[str, Any]) -> str:
    label = row["state"] or "-"
    if row["state_name"] and row["state_name"].upper() != label:
        label += f"\n({row['state_name']})"
    colour = COLOURS.get(row["state"] or "")
    return f"[{colour}]{label}[/]" if colour else label


@runs_app.callback(invoke_without_command=True)
@fails_on(httpx.HTTPError)
def runs_list(
    ctx: typer.Context,
    trace_id: Annotated[
        str | None, typer.Option("--trace-id", "-t", help="trace id (X-Trace-ID) ou X-Request-ID")
    ] = None,
    state: Annotated[
        list[str] | None, typer.Option("--state", "-s", help="estado, ex.: FAILED (repita ou separe por vírgula)")
    ] = None,
    flow: Annotated[str | None, typer.Option("--flow", "-f", help="nome do fluxo (ou parte dele)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="máximo de execuções")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="uma lista JSON, para scripts")] = False,
) -> None:
    """List the flow runs of a trace id, or the most recent runs (filters: --state, --flow); a schedule's future
    runs are not listed."""
    if ctx.invoked_subcommand is not None:
        return
    from prefect.client.orchestration import get_client

    states = [s.strip().upper() for item in state or [] for s in item.split(",") if s.strip()]
    unknown = [s for s in states if s not in STATES]
    if unknown:
        fail(f"estado inválido: {', '.join(unknown)}; use {', '.join(STATES)}")
    apply_prefect_env(settings)

    async def run() -> list[dict[str, Any]]:
        async with get_client() as client:
            return await find_runs(
                client,
                settings.prefect_ui_url,
                trace_id=trace_id,
                states=states,
                flow=flow,
                until=None if trace_id else datetime.now(UTC),
                limit=limit,
            )

    rows = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print("nenhuma execução encontrada" + (f" com o trace id {trace_id}" if trace_id else ""))
        return
    title = f"execuções do trace id {trace_id}" if trace_id else f"{len(rows)} execução(ões) mais recente(s)"
    console.print(runs_table(rows, title))


@runs_app.command("retry")
@fails_on(httpx.HTTPError)
def runs_retry(
    flow_run_id: Annotated[str, typer.Argument(help="id da execução")],
    wait: Annotated[float, typer.Option(min=0, help="segundos a acompanhar a nova tentativa (0 = não esperar)")] = 0,
) -> None:
    """Run a FAILED, CRASHED or CANCELLED run again, as the Prefect UI's Retry does: the run goes back to Scheduled
    (AwaitingRetry), same id and parameters, and its deployment's runner or worker starts it again."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound
    from prefect.states import AwaitingRetry

    from deployments.api import prefect_glue as glue

    run_id = as_uuid(flow_run_id)
    apply_prefect_env(settings)

    async def retry() -> dict[str, Any]:
        async with get_client() as client:
            flow_run = await glue.read_run(client, run_id)
            if flow_run is None:
                fail(f"execução {run_id} não encontrada no Prefect")
            before = flow_run.state.type.value if flow_run.state else "sem estado"
            if before not in RETRYABLE:
                fail(
                    f"a execução {run_id} ({flow_run.name}) está em {before}: só execuções "
                    f"{', '.join(RETRYABLE)} podem ser executadas de novo"
                )
            if flow_run.deployment_id is None:
                fail(
                    f"a execução {run_id} ({flow_run.name}) não foi criada por um deployment (o fluxo rodou direto "
                    "num processo): nenhum runner pode retomá-la; inicie uma nova execução"
                )
            try:
                deployment = await client.read_deployment(flow_run.deployment_id)
            except ObjectNotFound:
                fail(f"o deployment da execução {run_id} não existe mais; inicie uma nova execução")
            target = f"{(await client.read_flow(flow_run.flow_id)).name}/{deployment.name}"
            result = await glue.retry_busy(
                lambda: client.set_flow_run_state(
                    run_id, AwaitingRetry(message="Nova tentativa pela CLI (nexora runs retry)"), force=True
                )
            )
            if result.status != SetStateStatus.ACCEPT:
                fail(
                    f"o Prefect recusou a nova tentativa da execução {run_id}: "
                    f"{result.details.reason or result.status.value}"
                )
            flow_run = await client.read_flow_run(run_id)
            row = _run_row(flow_run, None, settings.prefect_ui_url)
            console.print(
                f"execução {run_id} ({flow_run.name}): {before} → {_state_label(row)}; o runner do "
                f"deployment {target} vai executá-la de novo, com os mesmos parâmetros"
            )
            if wait:
                row = _run_row(await glue.wait_for_run(client, run_id, wait), None, settings.prefect_ui_url)
            return {**row, "deployment": target}

    row = asyncio.run(retry())
    if not wait:
        return
    console.print(f"estado: {_state_label(row)} — {row['ui_url']}")
    if row["state"] in RETRYABLE:
        fail(row["message"] or "a nova tentativa falhou")
    if row["state"] == "SCHEDULED":
        console.print(
            f"ainda SCHEDULED após {wait:g} s: há um runner (nexora runner, nexora up) ou worker no ar "
            f"para o deployment {row['deployment']}?"
        )
    elif row["state"] != "COMPLETED":
        console.print(
            f"ainda {row['state']} após {wait:g} s"
            + (f"; acompanhe com 'nexora runs --trace-id {row['trace_id']}'" if row["trace_id"] else "")
        )
