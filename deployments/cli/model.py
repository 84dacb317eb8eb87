"""`nexora model …`: train the price model through its deployment, list the registered versions, roll back."""

from __future__ import annotations

from typing import Annotated

import typer

from deployments.cli.common import console, fails_on, start_and_follow

model_app = typer.Typer(help="Modelo de preços de referência (MLflow: preco-referencia).", no_args_is_help=True)


@model_app.command("train")
def model_train(
    test_months: Annotated[int | None, typer.Option(min=1, max=60, help="meses recentes de teste")] = None,
    promote: Annotated[bool, typer.Option(help="aplicar o critério de promoção (champion)")] = True,
    wait: Annotated[float, typer.Option(help="segundos a esperar pelo fim (0 = não esperar)")] = 600,
) -> None:
    """Start a train-price-model run and (by default) wait for its decision."""
    from deployments.catalog import TRAIN_PRICE_MODEL

    parameters = {"promote": promote, **({"test_months": test_months} if test_months else {})}
    start_and_follow(TRAIN_PRICE_MODEL, parameters, ["nexora", "prices"], wait, "o treino falhou")


@model_app.command("list")
def model_list() -> None:
    """The registered versions, their aliases and MdAPE against the IN 65 baseline."""
    from tasks.prices.registry_read import list_versions

    console.print(versions_table(list_versions()))


def versions_table(versions: list[dict]):
    """The registered versions at 80 columns: MdAPE of the model and of the IN 65 baseline on the same test rows."""
    from rich import box
    from rich.table import Table

    table = Table(
        title="preco-referencia (MdAPE: erro mediano nos itens de teste; menor é melhor)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("versão", justify="right")
    table.add_column("aliases", overflow="fold")
    table.add_column("MdAPE", justify="right")
    table.add_column("IN 65", justify="right")
    table.add_column("run MLflow", no_wrap=True)
    for v in versions:
        table.add_row(
            v["version"],
            ", ".join(v["aliases"]) or "-",
            f"{v['mdape']:.3f}" if v["mdape"] is not None else "-",
            f"{v['baseline_mdape']:.3f}" if v["baseline_mdape"] is not None else "-",
            v["run_id"] or "-",
        )
    if not versions:
        table.caption = "nenhuma versão registrada: nexora model train"
    return table


@model_app.command("rollback")
@fails_on(LookupError)
def model_rollback() -> None:
    """Swap `champion` and `previous` (the API picks the change up by itself)."""
    from tasks.prices.registry import Registry

    champion, previous = Registry().rollback()
    console.print(f"champion: v{champion} · previous: v{previous}")
