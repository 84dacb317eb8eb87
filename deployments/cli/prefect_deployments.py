"""`nexora deployments …`: prefect.yaml from the catalog, and each deployment's schedules and runs on the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.table import Table

from core.settings import settings
from deployments.cli.common import console, fail, fails_on
from deployments.operations.stack import apply_prefect_env

deployments_app = typer.Typer(help="Deployments do Prefect.", no_args_is_help=True)


@deployments_app.command("yaml")
def deployments_yaml(check: Annotated[bool, typer.Option(help="only check prefect.yaml is current")] = False) -> None:
    """Write prefect.yaml from the deployment list (or check that it is current)."""
    from deployments.catalog import render_prefect_yaml

    path = Path("prefect.yaml")
    rendered = render_prefect_yaml()
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != rendered:
            fail("prefect.yaml está desatualizado; rode 'nexora deployments yaml'")
        console.print("prefect.yaml em dia")
        return
    path.write_text(rendered, encoding="utf-8")
    console.print(f"escrito {path}")


@deployments_app.command("pool-template")
def deployments_pool_template() -> None:
    """Print the base job template of the nexora-process work pool (for `prefect work-pool create|update
    nexora-process --base-job-template FILE`): Prefect's own, with the flow-run command set, so each run is one
    process (the engine) rather than a workspace supervisor that starts it."""
    from deployments.operations.stack import process_pool_template

    print(json.dumps(process_pool_template(), indent=2))


@deployments_app.command("status")
@fails_on(httpx.HTTPError)
def deployments_status(
    as_json: Annotated[bool, typer.Option("--json", help="uma lista JSON, para scripts")] = False,
) -> None:
    """Each deployment's schedules, next scheduled run and last run, as the Prefect server holds them."""
    import asyncio

    from prefect.client.orchestration import get_client

    from deployments.api.schedule_status import deployments_status as read_status

    apply_prefect_env(settings)

    async def read():
        async with get_client() as client:
            return await read_status(client)

    rows = asyncio.run(read())
    if as_json:
        typer.echo(
            json.dumps([{"deployment": row.deployment, **row.as_json()} for row in rows], ensure_ascii=False, indent=2)
        )
        return
    console.print(deployments_table(rows))


def deployments_table(rows) -> Table:
    """Each deployment's schedules, next and last run, at 80 columns."""
    from rich import box

    table = Table(
        title="deployments",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="horários em America/Sao_Paulo",
        caption_justify="left",
    )
    for column in ("deployment", "agendamento", "próxima", "última"):
        table.add_column(column, overflow="fold")
    for row in rows:
        schedule = "\n".join(row.schedules) or "sob demanda"
        if row.paused:
            schedule += "\n(pausado)"
        last = f"{row.last_run_state}\n{row.last_run_time:%d/%m %H:%M}" if row.last_run_time else "-"
        upcoming = f"{row.next_run:%d/%m/%Y %H:%M}" if row.next_run else "-"
        if row.problem:
            upcoming = f"[red]{row.problem}[/]"
        table.add_row(row.deployment, schedule, upcoming, last)
    return table
