"""`nexora model …`: train the price model through its deployment, list the registered versions, roll back."""

from __future__ import annotations

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
    from deployments.catalog import TRAIN_PRICE_MODEL
    from deployments.cli import start_and_follow

    parameters = {"promote": promote, **({"test_months": test_months} if test_months else {})}
    start_and_follow(TRAIN_PRICE_MODEL, parameters, ["nexora", "prices"], wait, "o treino falhou")


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
