"""`nexora model …`: train the price model through its deployment, list the registered versions, roll back."""

from __future__ import annotations

import json
from typing import Annotated

import typer

model_app = typer.Typer(help="Modelo de preços de referência (MLflow: preco-referencia).", no_args_is_help=True)


@model_app.command("train")
def model_train(
    test_months: Annotated[int | None, typer.Option(min=1, max=60, help="meses recentes de teste")] = None,
    promote: Annotated[bool, typer.Option(help="aplicar o critério de promoção (champion)")] = True,
    wait: Annotated[float, typer.Option(help="segundos a esperar pelo fim (0 = não esperar)")] = 600,
) -> None:
    """Start a train-price-model run and (by default) wait for its decision."""
    import asyncio

    from prefect.client.orchestration import get_client

    from core.logging import new_trace_id
    from core.settings import settings
    from deployments import prefect_glue as glue
    from deployments.catalog import TRAIN_PRICE_MODEL
    from deployments.cli import console, fail
    from deployments.stack import apply_prefect_env

    apply_prefect_env(settings)
    parameters = {"promote": promote, **({"test_months": test_months} if test_months else {})}

    async def run() -> dict:
        async with get_client() as client:
            flow_run = await glue.start_run(client, TRAIN_PRICE_MODEL.full_name, parameters, trace_id=new_trace_id(),
                                            tags=["nexora", "prices"], name="train-price-model")
            console.print(f"execução {flow_run.id} ({flow_run.name}) iniciada")
            if wait:
                flow_run = await glue.wait_for_run(client, flow_run.id, wait)
            return await glue.describe_run(flow_run, settings.prefect_ui_url)

    status = asyncio.run(run())
    console.print(f"estado: {status['state']} — {status['ui_url']}")
    if status["final"] and status["state"] != "COMPLETED":
        fail(status["message"] or "o treino falhou")
    if status["state"] == "COMPLETED":
        console.print_json(json.dumps(status["result"]))


@model_app.command("list")
def model_list() -> None:
    """The registered versions, their aliases and MdAPE against the IN 65 baseline."""
    from rich.table import Table

    from deployments.cli import console
    from tasks.prices.registry import Registry

    table = Table(title="preco-referencia")
    for column in ("versão", "aliases", "MdAPE modelo", "MdAPE IN 65", "run MLflow"):
        table.add_column(column)
    for v in Registry().versions():
        table.add_row(v["version"], ", ".join(v["aliases"]) or "-",
                      f"{v['mdape']:.3f}" if v["mdape"] is not None else "-",
                      f"{v['baseline_mdape']:.3f}" if v["baseline_mdape"] is not None else "-", v["run_id"] or "-")
    console.print(table)


@model_app.command("rollback")
def model_rollback() -> None:
    """Swap `champion` and `previous` (the API picks the change up by itself)."""
    from deployments.cli import console, fail
    from tasks.prices.registry import Registry

    try:
        champion, previous = Registry().rollback()
    except LookupError as exc:
        fail(str(exc))
    console.print(f"champion: v{champion} · previous: v{previous}")
