"""collect-pncp against the PNCP replay server on loopback, on SQLite and PostgreSQL: pagination, 204, `[]`,
the server's 400/422 refusals, 429 with an HTML body, bursts of 500, slow pages, malformed JSON, odd records,
updates at the source, a run killed mid-window that resumes into the same tables as an uninterrupted one, a window
refused before any call, and items and results that failed filled by a later run without --restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterName
from sqlalchemy import insert, text
from sqlmodel import select

from core.settings import settings
from flows.collect_pncp import collect_pncp
from models.crud import detail_gaps
from models.db import get_engine, session_scope
from models.market import PncpCheckpoint, PncpContratacao, PncpDetailGap, PncpItem, PncpQuarantine, PncpResultado
from tasks.pncp import client as pncp
from tests.conftest import ROOT, TMP, _migrate_and_seed
from tests.servers.pncp import HTML_429, PncpReplay
from tests.utils.ports import free_port

pytestmark = pytest.mark.usefixtures("prefect_server")
START, END = date(2026, 3, 2), date(2026, 3, 6)
TABLES = (
    "pncp_resultados",
    "pncp_itens",
    "pncp_contratacoes",
    "pncp_quarantine",
    "pncp_checkpoints",
    "pncp_detail_gaps",
)
FAST = {
    "PNCP_CONSULTA_INTERVAL_SECONDS": 0.02,
    "PNCP_RETRY_BASE_SECONDS": 0.02,
    "PNCP_TIMEOUT_SECONDS": 1.0,
    "PNCP_PAGE_SIZE": 10,
    "PNCP_ITEMS_PAGE_SIZE": 2,
    "PNCP_RETRIES": 3,
}


@pytest.fixture
def replay(monkeypatch):
    server = PncpReplay(port=free_port()).start_server()
    monkeypatch.setattr(settings, "PNCP_BASE_URL", server.url)
    for name, value in FAST.items():
        monkeypatch.setattr(settings, name, value)
    yield server
    server.stop()


def _empty(url):
    with session_scope(url) as s:
        for table in TABLES:
            s.exec(text(f"DELETE FROM {table}"))


# What the HTTP side does (retries, refusals, task runs, the embedded sample's transport) does not depend on the
# database: those tests run on SQLite alone; storing, upserts, gaps and checkpoints run on both.
HTTP_ONLY = pytest.mark.parametrize("market", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def market(request, monkeypatch):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    monkeypatch.setattr(settings, "DATABASE_URL", url)
    _empty(url)
    yield url
    _empty(url)


def collect(**overrides):
    params = {"start": START, "end": END, "modalidades": [6, 8]} | overrides
    return collect_pncp(**params)


def snapshot(url):
    """Every stored record, without the time it was fetched: what two runs must agree on."""
    with session_scope(url) as s:
        out = {}
        for model, key in (
            (PncpContratacao, ("numero_controle_pncp",)),
            (PncpItem, ("numero_controle_pncp", "numero_item")),
            (PncpResultado, ("numero_controle_pncp", "numero_item", "sequencial_resultado")),
        ):
            rows = s.exec(select(model)).all()
            out[model.__tablename__] = sorted(
                (
                    tuple(getattr(r, k) for k in key),
                    tuple((c, str(getattr(r, c))) for c in sorted(model.model_fields) if c not in ("id", "fetched_at")),
                )
                for r in rows
            )
        return out


def test_collects_pages_items_and_results_and_quarantines_odd_records(market, replay):
    summary = collect()
    valid = replay.all_valid_controls()
    with session_scope(market) as s:
        stored = {r.numero_controle_pncp for r in s.exec(select(PncpContratacao))}
        items = s.exec(select(PncpItem)).all()
        results = s.exec(select(PncpResultado)).all()
        quarantined = s.exec(select(PncpQuarantine)).all()
        points = s.exec(select(PncpCheckpoint)).all()
    assert stored == valid
    assert len(items) == sum(len(replay.items[c]) for c in valid)  # items paginated 2 by 2, `[]` past the end
    assert len(results) == sum(1 for (c, _n) in replay.results if c in valid)  # 204 for items without result
    assert {q.kind for q in quarantined} == {"contratacao"}
    assert len(quarantined) == sum(len(rows) for rows in replay.records.values()) - len(valid)
    reasons = " ".join(q.reason for q in quarantined)
    assert "numeroControlePNCP inválido" in reasons and "ufSigla" in reasons and "negativo" in reasons
    assert all(p.done for p in points) and len(points) == 2
    assert summary["contratacoes_inserted"] == len(valid) and summary["quarantined"] == len(quarantined)
    pf = [r for r in results if r.tipo_pessoa == "PF"]
    assert pf and all(r.ni_fornecedor.startswith("pf:") and r.nome_fornecedor is None for r in pf)
    assert all("12345678909" not in str(r.raw) and "MARIA" not in str(r.raw) for r in pf)


def test_second_run_stores_nothing_twice_and_an_update_at_the_source_replaces_the_row(market, replay):
    collect(modalidades=[6])  # one modalidade: the same paths, half the time
    first = snapshot(market)
    assert all(first.values())
    again = collect(modalidades=[6], restart=True)
    assert snapshot(market) == first
    assert again["contratacoes_inserted"] == 0 and again["itens_inserted"] == 0
    control = sorted({r["numeroControlePNCP"] for r in replay.records[6]} & replay.all_valid_controls())[0]
    replay.update_record(
        control,
        objetoCompra="Objeto retificado",
        dataAtualizacao="2026-03-20T10:00:00",
        dataAtualizacaoGlobal="2026-03-20T10:00:00",
    )
    updated = collect(
        endpoint="contratacoes/atualizacao", start=date(2026, 3, 20), end=date(2026, 3, 20), modalidades=[6]
    )
    assert updated["contratacoes_updated"] == 1 and updated["contratacoes_inserted"] == 0
    with session_scope(market) as s:
        row = s.get(PncpContratacao, control)
        assert row.objeto_compra == "Objeto retificado" and row.data_atualizacao.day == 20


def test_a_window_it_cannot_mean_fails_the_run_before_any_call(replay):
    state = collect_pncp(start=date(2026, 3, 2), end=date(7984, 1, 1), modalidades=[6], return_state=True)
    assert state.is_failed() and "end 7984-01-01 é posterior a hoje" in state.message, state.message
    assert not replay.calls  # no PNCP call, no limit asked for


def test_details_that_failed_are_fetched_by_a_later_run_without_restart(market, replay, monkeypatch):
    # given the detail API down while a window is collected
    monkeypatch.setattr(settings, "PNCP_RETRIES", 1)
    window = {"modalidades": [6], "end": date(2026, 3, 3)}
    expected = {
        r["numeroControlePNCP"]
        for r in replay.records[6]
        if r["dataPublicacaoPncp"][:10] in ("2026-03-02", "2026-03-03")
    } & replay.all_valid_controls()
    replay.down("itens")
    first = collect(**window)
    # then the contratações are stored without items, each an open gap due after the back-off, and none is lost
    assert first["detail_failures"] == first["detail_gaps_pending"] == len(expected) > 0
    with session_scope(market) as s:
        assert not s.exec(select(PncpItem)).all()
        gaps = s.exec(select(PncpDetailGap)).all()
        assert {g.numero_controle_pncp for g in gaps} == expected
        assert all(g.status == "pending" and g.attempts == 1 and "503" in g.reason for g in gaps)
        assert not detail_gaps.due(s, "pncp")  # not before the back-off (PNCP_DETAIL_RETRY_BASE_MINUTES)
        later = datetime.now(UTC) + timedelta(minutes=settings.PNCP_DETAIL_RETRY_BASE_MINUTES + 1)
        assert len(detail_gaps.due(s, "pncp", now=later)) == len(expected)
        assert detail_gaps.counts(s) == {"pending": len(expected), "discarded": 0}
        s.exec(text("UPDATE pncp_detail_gaps SET next_attempt_at = first_failed_at"))  # the back-off has passed
    # when the detail API is back and the next run collects the same window, already done, without --restart
    replay.restore("itens")
    again = collect(**window)
    # then its slice is skipped, the gaps are fetched again and the items and results are stored
    assert again["slices_skipped"] == 1 and again["pages"] == 0
    assert again["detail_gaps_retried"] == again["detail_gaps_filled"] == len(expected)
    with session_scope(market) as s:
        items = s.exec(select(PncpItem)).all()
        results = s.exec(select(PncpResultado)).all()
        assert detail_gaps.counts(s) == {"pending": 0, "discarded": 0}
        assert all(g.status == "filled" and g.closed_at for g in s.exec(select(PncpDetailGap)))
    assert len(items) == sum(len(replay.items[c]) for c in expected) > 0
    assert len(results) == sum(1 for (c, _n) in replay.results if c in expected) > 0


def test_a_detail_gap_is_given_up_after_404s_over_two_days_or_too_many_attempts(market):
    t0 = datetime(2026, 3, 10, 3, tzinfo=UTC)
    gone = {
        "key": "00394000000100-1-000001/2026",
        "reason": "itens não obtidos: 404",
        "status": 404,
        "with_results": True,
    }
    flaky = {
        "key": "00394000000100-1-000002/2026",
        "reason": "itens não obtidos: 503",
        "status": 503,
        "with_results": False,
    }
    for hours in (0, 1, 3, 49, 80, 100, 130, 160):  # one failure per run
        with session_scope(market) as s:
            detail_gaps.record_failures(
                s,
                "pncp",
                [f for f in (gone, flaky) if hours <= 49 or f is flaky],
                "run",
                now=t0 + timedelta(hours=hours),
            )
    with session_scope(market) as s:
        rows = {g.numero_controle_pncp: g for g in s.exec(select(PncpDetailGap))}
        assert detail_gaps.counts(s) == {"pending": 0, "discarded": 2}
        assert rows[gone["key"]].attempts == 4 and "404 em 4 tentativas ao longo de 49 h" in rows[gone["key"]].reason
        assert rows[flaky["key"]].attempts == 8 and "8 tentativas sem sucesso" in rows[flaky["key"]].reason
        assert detail_gaps.mark_filled(s, "pncp", [flaky["key"]]) == 1  # a --restart run got it after all
    with session_scope(market) as s:
        assert detail_gaps.counts(s) == {"pending": 0, "discarded": 1}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrading_opens_a_gap_for_each_contratacao_quarantined_without_items(kind, tmp_path, pg_url):
    from sqlalchemy import create_engine

    from models.migrate import upgrade

    url, admin = f"sqlite:///{tmp_path}/m8.db", None
    if kind == "postgresql":
        url = pg_url.replace("nexora_test_", "nexora_mig8_")
        admin = create_engine(pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"'))
            c.execute(text(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"'))
    try:
        upgrade(url, "0007")
        with session_scope(url) as s:
            for n in (1, 2):
                key = f"00394000000100-1-00000{n}/2026"
                compra = PncpContratacao(
                    numero_controle_pncp=key,
                    cnpj_orgao="00394000000100",
                    ano_compra=2026,
                    sequencial_compra=n,
                    modalidade_id=6,
                )  # stored with the columns of 0007 (the search index's termos came in 0017)
                s.exec(insert(PncpContratacao.__table__).values(**compra.model_dump(exclude={"termos"})))
                s.add(
                    PncpQuarantine(
                        kind="itens", source="orgaos/…", record_key=key, reason="itens não obtidos: 503", raw=""
                    )
                )
            item = PncpItem(numero_controle_pncp="00394000000100-1-000002/2026", numero_item=1, descricao="papel")
            s.exec(insert(PncpItem.__table__).values(**item.model_dump(exclude={"id", "termos", "palavras"})))
        upgrade(url)
        with session_scope(url) as s:
            gaps = s.exec(select(PncpDetailGap)).all()
            assert [(g.numero_controle_pncp, g.status) for g in gaps] == [("00394000000100-1-000001/2026", "pending")]
            assert len(detail_gaps.due(s, "pncp")) == 1  # due at once: the next run fills it
    finally:
        get_engine(url).dispose()
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))


@HTTP_ONLY
def test_throttling_server_errors_slow_and_malformed_pages_are_retried(market, replay, monkeypatch):
    monkeypatch.setattr(settings, "PNCP_RETRIES", 6)  # five bad answers in a row for the first page
    replay.fail("consulta", 429, times=2, body=HTML_429, content_type="text/html")
    replay.fail("consulta", 500, times=1)
    replay.slow("consulta", 1.5, times=1)
    replay.malformed("consulta", times=1)
    replay.fail("itens", 503, times=2)
    summary = collect(modalidades=[6])
    assert summary["retries_429"] == 2 and summary["server_errors"] >= 3 and summary["timeouts"] == 1
    assert summary["malformed"] == 1 and summary["slices_failed"] == 0
    with session_scope(market) as s:
        stored = {r.numero_controle_pncp for r in s.exec(select(PncpContratacao))}
    assert stored == {r["numeroControlePNCP"] for r in replay.records[6]} & replay.all_valid_controls()


@HTTP_ONLY
def test_each_slice_is_a_task_run_tried_once_more_from_its_checkpoint_when_pncp_kept_failing(market, replay):
    replay.fail("consulta", 503, times=FAST["PNCP_RETRIES"] + 1)  # the first page fails past its own retries
    state = collect_pncp(start=START, end=END, modalidades=[6], ufs=["DF"], return_state=True)
    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="contratacoes/publicacao")),
        )
    [run] = runs  # one slice: modalidade 6, UF DF, one window
    assert run.name == f"contratacoes/publicacao {START:%d/%m/%Y}–{END:%d/%m/%Y} modalidade 6 UF DF"
    assert run.state.is_completed() and run.run_count == 2  # failed once past its pages' retries, then finished


@HTTP_ONLY
def test_refusals_are_not_retried_and_fail_the_run_with_the_server_message(market, replay, monkeypatch):
    monkeypatch.setattr(settings, "PNCP_PAGE_SIZE", 50)
    replay.fail("consulta", 400, times=1, body='{"message": "Tamanho de página inválido"}')
    state = collect_pncp(start=START, end=END, modalidades=[6], return_state=True)
    assert state.is_failed() and "Tamanho de página inválido" in state.message
    assert len(replay.calls["consulta"]) == 1  # not retried
    with pytest.raises(pncp.PncpError, match="maior que 365 dias"):
        pncp.PncpClient().consulta_page("contratacoes/publicacao", date(2024, 1, 1), date(2025, 6, 30), 1, 6)


@pytest.mark.parametrize("market", ["sqlite"], indirect=True)  # PostgreSQL: test_crash_safety kills mid-page
def test_a_killed_run_resumes_into_the_same_tables_as_an_uninterrupted_one(market, replay):
    env = {
        **os.environ,
        "DATABASE_URL": market,
        "PNCP_BASE_URL": replay.url,
        **{k: str(v) for k, v in FAST.items()},
        "PNCP_CONSULTA_INTERVAL_SECONDS": "0.5",
    }
    replay.slow("consulta", 0.6, times=20)  # each page takes a while: the kill lands between two pages
    code = (
        "from datetime import date; from flows.collect_pncp import collect_pncp; "
        "collect_pncp(start=date(2026, 3, 2), end=date(2026, 3, 6), modalidades=[6, 8])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while True:
        with session_scope(market) as s:
            pages = sum(p.last_page for p in s.exec(select(PncpCheckpoint)))
        if pages >= 1:
            break
        assert time.monotonic() < deadline and process.poll() is None, "the collection never stored a page"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    replay.reset()
    with session_scope(market) as s:
        assert not all(p.done for p in s.exec(select(PncpCheckpoint)))  # stopped mid-window
    collect()
    assert snapshot(market) == uninterrupted_snapshot()


_REFERENCE: list[dict] = []


def uninterrupted_snapshot() -> dict:
    """What an uninterrupted collection of the default window stores, in a database of its own (once per session:
    the replay's data is the same every time). Uses the current settings' PNCP server."""
    if not _REFERENCE:
        market = settings.DATABASE_URL
        other = f"sqlite:///{TMP / 'data' / f'pncp-reference-{os.getpid()}.db'}"
        _migrate_and_seed(other)
        _empty(other)
        settings.DATABASE_URL = other
        try:
            collect()
            _REFERENCE.append(snapshot(other))
        finally:
            settings.DATABASE_URL = market
    return _REFERENCE[0]


@HTTP_ONLY
def test_the_embedded_sample_is_collected_through_the_same_code_with_its_own_checkpoints(market):
    # given the embedded sample (real SIASG awarded prices in PNCP's wire format) and no network at all
    import polars as pl

    from tasks.pncp.sample import SAMPLE

    real = pl.read_parquet(SAMPLE)
    # when the years 2021–2022 are collected from it, twice
    first = collect_pncp(start=date(2021, 1, 1), end=date(2022, 12, 31), modalidades=[6], source="amostra")
    again = collect_pncp(start=date(2021, 1, 1), end=date(2022, 12, 31), modalidades=[6], source="amostra")
    # then every real item of those years is stored once, with its real homologated price
    expected = real.filter(pl.col("ano_aviso").is_in(["2021", "2022"]))
    with session_scope(market) as s:
        results = s.exec(select(PncpResultado)).all()
        items = s.exec(select(PncpItem)).all()
        points = s.exec(select(PncpCheckpoint)).all()
    assert len(results) == expected.height == first["resultados_inserted"]
    assert len(items) == expected.select("id_licitacao", "numero_item").n_unique() == first["itens_inserted"]
    assert sorted(float(r.valor_unitario_homologado) for r in results) == pytest.approx(
        sorted(float(v) for v in expected["preco_unitario"])
    )
    assert first["quarantined"] == 0 and first["requests"] > first["pages"]
    assert again["slices_skipped"] == len(points) and again["pages"] == 0
    assert all(p.endpoint.startswith("amostra:") for p in points)  # a real collection of the same window is not skipped
