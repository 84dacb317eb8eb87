"""`nexora search …`: the search index over the collected PNCP data (models/search_index.py).

`reindex` builds what is missing (columns, FTS5 tables and triggers, tsvector columns and indexes) and indexes the
rows stored without their words (all of them with `--tudo`); it is safe to run again, and runs in batches, each in
its own transaction, so an interrupted run keeps what it did."""

from __future__ import annotations

from typing import Annotated

import typer

from deployments.cli.common import console, fail

search_app = typer.Typer(help="Índice de busca dos dados coletados do PNCP.", no_args_is_help=True)
LABELS = {"pncp_itens": "itens", "pncp_contratacoes": "contratações"}
DONE = {"pncp_itens": "item(ns) indexado(s)", "pncp_contratacoes": "contratação(ões) indexada(s)"}


@search_app.command("reindex")
def reindex(
    everything: Annotated[
        bool, typer.Option("--tudo", help="Reindexa todas as linhas, não só as ainda sem índice.")
    ] = False,
) -> None:
    """Build the search index and index the stored items and contratações (idempotent)."""
    from rich.progress import Progress
    from sqlalchemy.exc import SQLAlchemyError

    from core.settings import settings
    from models import search_index
    from models.db import get_engine

    engine = get_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            search_index.build(connection)
            totals = {t: search_index.pending(connection, t, everything) for t in search_index.SOURCES}
        done = dict.fromkeys(totals, 0)
        with Progress(console=console) as progress:
            for table, total in totals.items():
                bar = progress.add_task(f"indexando {LABELS[table]}", total=total or 1)
                batches = search_index.reindex_batches(engine, table, everything)
                for count in batches:
                    done[table] += count
                    progress.advance(bar, count)
                if not total:
                    progress.advance(bar, 1)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:  # the rarest words of a research come from pg_stats
                connection.exec_driver_sql("ANALYZE pncp_itens")
    except SQLAlchemyError as exc:
        fail(f"não foi possível reindexar: {str(exc.orig or exc).splitlines()[0]}")
    console.print(
        "índice de busca atualizado: "
        + ", ".join(f"{done[t]} {DONE[t]}" for t in search_index.SOURCES)
        + f" ({engine.url.render_as_string(hide_password=True).split('@')[-1]})"
    )
