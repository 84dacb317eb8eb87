"""The search index built for rows stored before it: by migration 0017 and by `nexora search reindex`, on a
throwaway SQLite file and a throwaway PostgreSQL database."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from deployments.cli.app import app
from models.db import get_engine, session_scope
from models.migrate import upgrade
from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.integration
runner = CliRunner()
ROW = (
    "INSERT INTO pncp_itens (numero_controle_pncp, numero_item, descricao, tem_resultado, orcamento_sigiloso, raw, "
    "fetched_at) VALUES ('00394460000141-1-000001/2024', :n, :d, false, false, '{}', CURRENT_TIMESTAMP)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.db'}"
        return
    name = f"nexora_index_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    get_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _found(url: str, word: str) -> list[int]:
    from tasks.prices.market_search import lexemes

    with session_scope(url) as s:
        (term, _) = lexemes(s, [word])[word]
        if s.get_bind().dialect.name == "postgresql":
            sql = "SELECT numero_item FROM pncp_itens WHERE busca @@ CAST(:q AS tsquery)"
            q = f"'{term}'"
        else:
            sql = (
                "SELECT numero_item FROM pncp_itens "
                "WHERE id IN (SELECT rowid FROM pncp_itens_fts WHERE pncp_itens_fts MATCH :q)"
            )
            q = f'"{term}"'
        return sorted(n for (n,) in s.exec(text(sql).bindparams(q=q)))


def test_migration_and_reindex_index_the_rows_stored_before(fresh, monkeypatch):
    from core.settings import settings

    # given items stored before the index existed (the schema at 0016)
    upgrade(fresh, "0016")
    with get_engine(fresh).begin() as conn:
        conn.execute(text(ROW), {"n": 1, "d": "Papel A4 75 g/m², resma"})
    # when the migration runs, then they are indexed
    upgrade(fresh)
    assert _found(fresh, "resma") == [1]
    # given rows that lost their words (say, written by a tool outside the collection)
    with get_engine(fresh).begin() as conn:
        conn.execute(text(ROW), {"n": 2, "d": "Grampeador de mesa, 26/6"})
        conn.execute(text("UPDATE pncp_itens SET termos = NULL WHERE numero_item = 2"))
    assert _found(fresh, "grampeador") == []
    # when `nexora search reindex` runs (twice: idempotent)
    monkeypatch.setattr(settings, "DATABASE_URL", fresh)
    first = runner.invoke(app, ["search", "reindex"], terminal_width=200)
    again = runner.invoke(app, ["search", "reindex"], terminal_width=200)
    # then the row is found again, and the second run had nothing left to do
    assert first.exit_code == 0 and "1 item(ns) indexado(s)" in first.output, first.output
    assert again.exit_code == 0 and "0 item(ns) indexado(s)" in again.output
    assert _found(fresh, "grampeador") == [2] and _found(fresh, "resma") == [1]
    everything = runner.invoke(app, ["search", "reindex", "--tudo"], terminal_width=200)
    assert everything.exit_code == 0 and "2 item(ns) indexado(s)" in everything.output


def test_reindex_says_why_it_cannot_run(tmp_path, monkeypatch):
    from core.settings import settings

    # a database without the collection's tables (never migrated)
    monkeypatch.setattr(settings, "DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    failed = runner.invoke(app, ["search", "reindex"], terminal_width=200)
    assert failed.exit_code == 1 and "não foi possível reindexar" in failed.output


def test_reindex_reads_by_key_range_and_indexes_only_the_rows_without_words(fresh, monkeypatch):
    from models import search_index

    # given 7 items, 3 of them without their words, and batches of 2 rows (a batch may hold none to index)
    upgrade(fresh)
    with get_engine(fresh).begin() as conn:
        for n in range(1, 8):
            conn.execute(text(ROW), {"n": n, "d": f"Grampeador de mesa modelo {n}, 26/6"})
        conn.execute(text("UPDATE pncp_itens SET termos = NULL, palavras = NULL WHERE numero_item IN (3, 4, 7)"))
        conn.execute(text("UPDATE pncp_itens SET termos = 'marca , ' WHERE numero_item IN (1, 2, 5, 6)"))
    monkeypatch.setattr(search_index, "BATCH", 2)
    # when the pending rows are indexed
    counts = list(search_index.reindex_batches(get_engine(fresh), "pncp_itens"))
    # then exactly those got their words, past the batches with none, and the others were left as they were
    assert sum(counts) == 3 and _found(fresh, "grampeador") == [3, 4, 7]
    with get_engine(fresh).connect() as conn:
        kept = conn.execute(text("SELECT numero_item FROM pncp_itens WHERE termos = 'marca , ' ORDER BY 1")).all()
    assert [n for (n,) in kept] == [1, 2, 5, 6]
    # and --tudo indexes every row again
    assert sum(search_index.reindex_batches(get_engine(fresh), "pncp_itens", everything=True)) == 7
    assert _found(fresh, "grampeador") == [1, 2, 3, 4, 5, 6, 7]
