"""The correction index on SQLite and PostgreSQL: imported months override the shipped ones, a bad file or a gap
changes nothing, and `nexora prices index import|show` through the command line."""

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete
from sqlmodel import SQLModel, select
from typer.testing import CliRunner

from deployments.cli.app import app
from models.db import get_engine, session_scope
from models.price_index import PriceIndexValue
from tasks.prices.indices import IndexFileError, import_series, load_index, parse_series, series, shipped

runner = CliRunner()
LAST = max(shipped("IPCA"))


def _next(month):
    return (month[0] + 1, 1) if month[1] == 12 else (month[0], month[1] + 1)


@pytest.fixture
def clean(db_url):
    """The databases live for the whole session: leave no imported IPCA month behind (requested before `session`,
    so that the test's session has ended when the rows are wiped)."""

    def wipe():
        with session_scope(db_url) as s:
            s.exec(delete(PriceIndexValue).where(PriceIndexValue.name.in_(["IPCA", "TESTE"])))

    wipe()
    yield db_url
    wipe()


def test_the_model_matches_migration_0013(db_url):
    with get_engine(db_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, SQLModel.metadata) if "price_index_values" in repr(d)]
    assert diffs == []


def test_an_import_overrides_the_shipped_month_and_extends_the_series(clean, session):
    # given the shipped July 2022 replaced by another value and one month after the shipped series
    after = _next(LAST)
    rows = [(2022, 7, 6400.0), (2022, 8, shipped()[(2022, 8)])]
    counts = import_series(session, "ipca", rows, "teste: revisão")
    assert counts == {"new": 2, "changed": 0, "unchanged": 0}
    counts = import_series(session, "IPCA", [(*LAST, 7000.0), (*after, 7001.5)], "teste")
    session.commit()
    assert counts == {"new": 2, "changed": 0, "unchanged": 0}

    # when the index is loaded
    index = load_index(session, "IPCA")

    # then the imported months win, the others are the shipped ones
    assert index.values[(2022, 7)] == 6400.0 and index.values[(2022, 6)] == shipped()[(2022, 6)]
    assert index.values[after] == 7001.5 and index.value(date(*LAST, 1)) == 7000.0
    stored = {(m.year, m.month): m for m in series(session, "IPCA")}
    assert stored[(2022, 7)].origin == "imported" and stored[(2022, 7)].shipped_value == shipped()[(2022, 7)]
    assert stored[(2022, 7)].source == "teste: revisão" and stored[(2022, 6)].origin == "shipped"
    assert load_index(session, carry_forward=True).value(date(after[0] + 1, 6, 1)) == 7001.5

    # and importing again counts what changed
    counts = import_series(session, "IPCA", [(2022, 7, 6400.0), (2022, 8, 6390.0)], "teste")
    assert counts == {"new": 0, "changed": 1, "unchanged": 1}


def test_an_index_the_project_does_not_ship_is_the_imported_series(clean, session):
    import_series(session, "TESTE", parse_series("mes;numero_indice\n2024-01;100\n2024-02;101,5\n"), "x")
    session.commit()
    assert load_index(session, "teste").values == {(2024, 1): 100.0, (2024, 2): 101.5}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([(2099, 1, 1.0)], "deixariam faltando"),
        ([(2010, 1, 1.0)], "deixariam faltando"),
        ([(2024, 1, 1.0), (2024, 3, 1.0)], "consecutivos"),
        ([(2024, 1, -1.0)], "maiores que zero"),
    ],
)
def test_a_gap_with_the_known_series_is_refused_and_nothing_stored(clean, session, rows, expected):
    with pytest.raises(IndexFileError, match=expected):
        import_series(session, "IPCA", rows, "teste")
    assert session.exec(select(PriceIndexValue).where(PriceIndexValue.name == "IPCA")).all() == []


def test_cli_import_and_show(clean, monkeypatch, tmp_path):
    from core.settings import settings

    monkeypatch.setattr(settings, "DATABASE_URL", clean)
    after = _next(LAST)
    good = tmp_path / "ipca.csv"
    good.write_text(f"mes;numero_indice\n{LAST[0]}-{LAST[1]:02d};7000,00\n{after[0]}-{after[1]:02d};7001,50\n")

    imported = runner.invoke(app, ["prices", "index", "import", str(good), "--source", "IBGE, SIDRA 1737"])
    assert imported.exit_code == 0, imported.output
    assert "IPCA: 2 meses" in imported.output and "2 novos, 0 alterados" in imported.output

    shown = runner.invoke(app, ["prices", "index", "show", "--from", f"{LAST[0]}-01"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "7.001,50" in shown.output and "importado em" in shown.output and "SIDRA 1737" in shown.output
    assert (
        "arquivo do repositório" in shown.output and f"último mês da série: {after[1]:02d}/{after[0]}" in shown.output
    )
    assert "2018" not in shown.output  # --from leaves the earlier months out


def test_cli_refuses_a_bad_file_whole(clean, monkeypatch, tmp_path):
    from core.settings import settings

    monkeypatch.setattr(settings, "DATABASE_URL", clean)
    bad = tmp_path / "ipca.csv"
    bad.write_text("mes;numero_indice\n2022-06;6455,85\n2022-07;6400\n2022-07;6401\n")
    refused = runner.invoke(app, ["prices", "index", "import", str(bad)], terminal_width=200)
    assert refused.exit_code == 1 and "erro:" in refused.output
    assert "linha 4: o mês 07/2022 aparece mais de uma vez" in refused.output
    missing = runner.invoke(app, ["prices", "index", "import", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1 and "não encontrado" in missing.output
    bad_month = runner.invoke(app, ["prices", "index", "show", "--from", "2024-13"])
    assert bad_month.exit_code == 1 and "mês inválido" in bad_month.output
    with session_scope(clean) as s:
        assert s.exec(select(PriceIndexValue).where(PriceIndexValue.name == "IPCA")).all() == []
    assert load_index_values(clean)[(2022, 7)] == shipped()[(2022, 7)]


def load_index_values(url):
    with session_scope(url) as s:
        return load_index(s).values
