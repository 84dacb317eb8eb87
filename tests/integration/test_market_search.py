"""The search index over the collected PNCP data (models/search_index.py, tasks/prices/market_search.py), on SQLite
and PostgreSQL: kept by the upsert, built by the migration and by `nexora search reindex`, and the price research by
description through it finding exactly what the full scan found."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import text

from models.db import session_scope
from tasks.prices import market_data
from tasks.prices.research import SIMILARITY, jaccard, words
from tests.utils.market_sample import empty, load_sample

pytestmark = pytest.mark.integration
REFERENCE, WINDOW = date(2022, 12, 31), 7 * 365  # the whole sample (2016–2022) in one window


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sample(request):
    """The embedded sample stored once per database for the module (emptied after)."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    empty(url)
    load_sample(url)
    with session_scope(url) as s:
        if s.get_bind().dialect.name == "postgresql":
            s.exec(text("ANALYZE pncp_itens"))  # the rarest words come from pg_stats
    yield url
    empty(url)


def _key(o) -> tuple:
    return (o.numero_controle_pncp, o.numero_item, round(float(o.price), 4))


def test_research_by_description_finds_exactly_what_the_full_scan_accepts(sample):
    # given every collected price of the window, read the old way, grouped by description
    with session_scope(sample) as s:
        everything = market_data.scan_observations(s, reference_date=REFERENCE, window_days=WINDOW)
        by_description = defaultdict(list)
        for o in everything:
            by_description[o.description].append(o)
        vocabulary = {d: words(d) for d in by_description}
        assert len(everything) > 6000 and len(by_description) > 1000
        # every 8th distinct description keeps the test short (all 2,4xx passed on both databases when it was written)
        queries = sorted(by_description)[::8]
        # and descriptions the index cannot bound ("mais", "muito" are stop words of the index, not of the rule):
        # answered by the full scan, the same
        queries += ["NOTEBOOK MAIS MUITO", "MAIS MUITO"]
        # when each distinct sample description is researched through the index
        for query in queries:
            target = vocabulary.get(query) or words(query)
            expected = {
                _key(o)
                for d, group in by_description.items()
                if jaccard(target, vocabulary[d]) >= SIMILARITY
                for o in group
            }
            found = market_data.observations(s, reference_date=REFERENCE, window_days=WINDOW, description=query)
            # then it returns exactly the prices the full scan's rule accepts, no more, no less
            assert {_key(o) for o in found} == expected, query
        # and with no price sharing enough of its words, none is read: none is counted as another item's (a research
        # does not scan the window to count them)
        alien = market_data.observations(s, reference_date=REFERENCE, window_days=WINDOW, description="ESPAÇONAVE")
        assert list(alien) == [] and alien.other_items == 0


def _indexed(session, control: str, word: str) -> list[int]:
    """The item numbers of ``control`` the index finds by ``word`` (as a research would search it)."""
    from tasks.prices.market_search import lexemes

    held = lexemes(session, [word])[word]
    assert held is not None
    if session.get_bind().dialect.name == "postgresql":
        sql = "SELECT numero_item FROM pncp_itens WHERE numero_controle_pncp = :c AND busca @@ CAST(:q AS tsquery)"
    else:
        sql = (
            "SELECT numero_item FROM pncp_itens WHERE numero_controle_pncp = :c "
            "AND id IN (SELECT rowid FROM pncp_itens_fts WHERE pncp_itens_fts MATCH :q)"
        )
    q = f"'{held[0]}'" if session.get_bind().dialect.name == "postgresql" else f'"{held[0]}"'
    return sorted(n for (n,) in session.exec(text(sql).bindparams(c=control, q=q)))


def test_the_upsert_keeps_the_index_in_its_transaction(db_url):
    from datetime import datetime

    from models.crud.market import upsert
    from models.market import PncpItem

    control = "99999999000191-1-000001/2026"
    base = {
        "numero_controle_pncp": control,
        "uf": "DF",
        "raw": {},
        "tem_resultado": False,
        "orcamento_sigiloso": False,
        "data_publicacao_pncp": datetime(2026, 1, 5),
    }
    first = [
        {**base, "numero_item": 1, "descricao": "PAPEL A4 75 G/M², RESMA", "data_atualizacao": datetime(2026, 1, 5)},
        {**base, "numero_item": 2, "descricao": "Caneta esferográfica azul", "data_atualizacao": datetime(2026, 1, 5)},
    ]
    try:
        # given two items stored by the collection's upsert
        with session_scope(db_url) as s:
            assert upsert(s, PncpItem, first)["inserted"] == 2
        with session_scope(db_url) as s:
            # then both are found by their words, as the research folds them ("G/M²" → "g", "m2")
            assert _indexed(s, control, "m2") == [1] and _indexed(s, control, "esferografica") == [2]
        # when the source changes a description (a newer version)
        changed = {**first[1], "descricao": "Lápis preto nº 2", "data_atualizacao": datetime(2026, 2, 1)}
        with session_scope(db_url) as s:
            assert upsert(s, PncpItem, [changed])["updated"] == 1
        with session_scope(db_url) as s:
            # then the index follows: the old words no longer find it, the new ones do
            assert _indexed(s, control, "esferografica") == [] and _indexed(s, control, "lapis") == [2]
            # and a deleted item leaves the index with it
            s.exec(
                text("DELETE FROM pncp_itens WHERE numero_controle_pncp = :c AND numero_item = 1").bindparams(c=control)
            )
        with session_scope(db_url) as s:
            assert _indexed(s, control, "m2") == []
            if s.get_bind().dialect.name == "sqlite":
                stale = "SELECT count(*) FROM pncp_itens_fts WHERE rowid NOT IN (SELECT id FROM pncp_itens)"
                assert s.exec(text(stale)).one()[0] == 0
    finally:
        with session_scope(db_url) as s:
            s.exec(text("DELETE FROM pncp_itens WHERE numero_controle_pncp = :c").bindparams(c=control))


def test_similar_contratacoes_come_from_the_index_ranked_by_likeness(sample):
    # given the sample's notebooks and projection screens (both have "TELA")
    with session_scope(sample) as s:
        found = market_data.similar_purchases(s, ["NOTEBOOK, TELA 14 POL, 8 GB RAM"], limit=8)
        scanned = market_data.scan_similar_purchases(s, ["NOTEBOOK, TELA 14 POL, 8 GB RAM"], limit=50)
    # then every one is a notebook (same head noun), best likeness first, and as similar as the full scan's best
    assert found and all(f["descricao"].upper().startswith("NOTEBOOK") for f in found)
    scores = [f["similaridade"] for f in found]
    assert scores == sorted(scores, reverse=True) and scores[0] == scanned[0]["similaridade"]
    assert {f["numero_controle_pncp"] for f in found} <= {f["numero_controle_pncp"] for f in scanned} | {
        f["numero_controle_pncp"] for f in found if f["similaridade"] == scores[-1]
    }
    # and a description whose head noun nothing collected has gives nothing
    with session_scope(sample) as s:
        assert market_data.similar_purchases(s, ["ESPAÇONAVE, TELA 14 POL"]) == []


def test_similar_contratacoes_through_the_index_are_those_the_full_scan_accepts(sample):
    # given descriptions of the sample (every 40th distinct one) and their contratações the full scan judges similar
    with session_scope(sample) as s:
        everything = market_data.scan_observations(s, reference_date=REFERENCE, window_days=WINDOW)
        queries = sorted({o.description for o in everything})[::40]
        assert len(queries) > 40
        for query in queries:
            scanned = market_data.scan_similar_purchases(s, [query], limit=10**6)
            found = market_data.similar_purchases(s, [query], limit=10**6)
            # then the index finds the same contratações, as similar (the bound in the index drops none)
            assert {(f["numero_controle_pncp"], f["similaridade"]) for f in found} == {
                (f["numero_controle_pncp"], f["similaridade"]) for f in scanned
            }, query


def test_equally_similar_contratacoes_come_by_catalogue_code_then_uf_then_date(sample):
    with session_scope(sample) as s:
        plain = market_data.similar_purchases(s, ["NOTEBOOK"], limit=10**6)
        # given many notebooks equally similar to "NOTEBOOK" (the head alone), of several codes, UFs and dates
        top = [f for f in plain if f["similaridade"] == plain[0]["similaridade"]]
        assert len(top) > 5 and len({f["uf"] for f in top}) > 1
        # then without code or UF they come most recent first
        dates = [f["data"] for f in top]
        assert dates == sorted(dates, reverse=True)
        # and with the body's UF, that UF's come first (then by date)
        uf = top[-1]["uf"]
        by_uf = market_data.similar_purchases(s, ["NOTEBOOK"], limit=10**6, uf=uf)
        head = [f for f in by_uf if f["similaridade"] == plain[0]["similaridade"]]
        firsts = [f["uf"] for f in head]
        assert firsts[: firsts.count(uf)] == [uf] * firsts.count(uf) and head[0]["uf"] == uf
        # and with the item's catalogue code, that code's come before the UF's
        codes = {
            o.numero_controle_pncp: o.catalogue_code
            for o in market_data.scan_observations(s, reference_date=REFERENCE, window_days=WINDOW)
            if o.description.upper().startswith("NOTEBOOK")
        }
        code = next(c for c in (codes[f["numero_controle_pncp"]] for f in reversed(top)) if c)
        by_code = market_data.similar_purchases(s, ["NOTEBOOK"], limit=10**6, uf=uf, codes=[code])
        ranked = [f for f in by_code if f["similaridade"] == plain[0]["similaridade"]]
        assert codes[ranked[0]["numero_controle_pncp"]] == code


def test_the_contratacoes_objeto_is_indexed_by_the_upsert(db_url):
    from datetime import datetime

    from models.crud.market import upsert
    from models.market import PncpContratacao
    from models.textsearch import stem

    control = "99999999000191-1-000002/2026"
    row = {
        "numero_controle_pncp": control,
        "cnpj_orgao": "99999999000191",
        "razao_social_orgao": "Órgão de teste",
        "ano_compra": 2026,
        "sequencial_compra": 2,
        "modalidade_id": 6,
        "srp": False,
        "raw": {},
        "objeto_compra": "Aquisição de grampeadores de mesa",
        "data_atualizacao": datetime(2026, 1, 5),
    }
    try:
        with session_scope(db_url) as s:
            upsert(s, PncpContratacao, [row])
        with session_scope(db_url) as s:
            if s.get_bind().dialect.name == "postgresql":
                sql = (
                    "SELECT numero_controle_pncp FROM pncp_contratacoes WHERE busca @@ to_tsquery('simple', "
                    f"'{stem('grampeador')}')"
                )
            else:
                sql = (
                    "SELECT numero_controle_pncp FROM pncp_contratacoes WHERE rowid IN (SELECT rowid FROM "
                    f"pncp_contratacoes_fts WHERE pncp_contratacoes_fts MATCH '\"{stem('grampeador')}\"')"
                )
            assert control in [r[0] for r in s.exec(text(sql))]
    finally:
        with session_scope(db_url) as s:
            s.exec(text("DELETE FROM pncp_contratacoes WHERE numero_controle_pncp = :c").bindparams(c=control))
