"""`nexora prices …`: the price research's reference data; `nexora prices index …` the monthly correction index
(IPCA): the series shipped in seeds/indices and the months the operators import over it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from deployments.cli.common import console, fail, fails_on
from tasks.prices.indices import IndexFileError

prices_app = typer.Typer(help="Pesquisa de preços: dados de referência.", no_args_is_help=True)
index_app = typer.Typer(help="Índice de correção mensal dos preços (IPCA número-índice).", no_args_is_help=True)
prices_app.add_typer(index_app, name="index")

NAME = typer.Option("--name", help="nome do índice")


def _month(text: str) -> tuple[int, int]:
    from tasks.prices.indices import MONTH

    found = MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        fail(f"mês inválido: {text!r}; use AAAA-MM (ex.: 2024-07)")
    return int(found.group(1)), int(found.group(2))


@index_app.command("import")
@fails_on(IndexFileError)
def index_import(
    file: Annotated[Path, typer.Argument(help="CSV com cabeçalho mes;numero_indice e uma linha por mês AAAA-MM")],
    name: Annotated[str, NAME] = "IPCA",
    source: Annotated[str | None, typer.Option("--source", help="de onde vêm os números (padrão: o arquivo)")] = None,
) -> None:
    """Import a monthly series over the shipped one: the whole file or nothing."""
    from models.db import session_scope
    from tasks.prices.indices import import_series, index_name, parse_series

    if not file.is_file():
        fail(f"arquivo {file} não encontrado")
    rows = parse_series(file)
    name = index_name(name)
    with session_scope() as session:
        counts = import_series(session, name, rows, source or f"arquivo {file.name}")
    first, last = rows[0], rows[-1]
    console.print(
        f"{name}: {len(rows)} meses de {first[1]:02d}/{first[0]} a {last[1]:02d}/{last[0]} — "
        f"{counts['new']} novos, {counts['changed']} alterados, {counts['unchanged']} iguais"
    )


@index_app.command("show")
@fails_on(IndexFileError)
def index_show(
    name: Annotated[str, NAME] = "IPCA",
    since: Annotated[str | None, typer.Option("--from", help="primeiro mês mostrado, AAAA-MM")] = None,
) -> None:
    """The series in use, month by month, and where each value comes from."""
    from models.db import session_scope
    from tasks.prices.indices import index_name, series
    from tasks.prices.outliers import number_br

    name = index_name(name)
    start = _month(since) if since else None
    with session_scope() as session:
        months = series(session, name)
    if not months:
        fail(f"o índice {name} não tem série no repositório nem meses importados (nexora prices index import)")
    table = Table("mês", "número-índice", "variação no mês", "origem", title=f"{name} (número-índice)")
    previous = None
    for m in months:
        if start is None or (m.year, m.month) >= start:
            change = f"{number_br((m.value / previous - 1) * 100)} %" if previous else ""
            if m.origin == "shipped":
                origin = "arquivo do repositório"
            else:
                origin = f"importado em {m.imported_at:%d/%m/%Y}" + (f" ({m.source})" if m.source else "")
                if m.shipped_value is not None and m.shipped_value != m.value:
                    origin += f"; no repositório: {number_br(m.shipped_value)}"
            table.add_row(f"{m.month:02d}/{m.year}", number_br(m.value), change, origin)
        previous = m.value
    console.print(table)
    last = months[-1]
    console.print(f"último mês da série: {last.month:02d}/{last.year}")
