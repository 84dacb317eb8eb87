"""The search index over collected PNCP data (issue 20): price research by description and an ETP's similar
contratações through the index, against today's full scan of the window, on PostgreSQL (5,000,000 items) and
SQLite (1,000,000 items) by default.

Data: items generated from the real SIASG descriptions bundled in seeds/prices (2,395 distinct catalogue
descriptions): each item takes a real description's name and recombines its attributes (segments) with those of
other real descriptions of the same name, a real unit as typed by buyers, the real catalogue code of the name, a
price from the real unit prices of that code (log-normal noise), a UF drawn from the real UFs, a publication date
over the year before the reference date; 8 items a contratação, one awarded result each. All within the window.

Measured, each in the same run on the same data:
- ingest: items per second stored by the collection's upsert (models.crud.market.upsert, 5,000 a transaction) with
  the index maintained (PostgreSQL's generated tsvector + GIN; SQLite's triggers into FTS5); target ≥ 20,000/s;
- build: the index dropped and built again for the stored rows (models.search_index build + reindex: what
  migration 0017 and `nexora search reindex` do), seconds per million items, and its size per million items;
- estimate: ``market_data.observations`` by description + ``research.research`` (the IN 65 mapa), for
  ``--queries`` real descriptions of the corpus and the issue's two ("PAPEL A4 75 G/M2", "CANETA ESFEROGRÁFICA AZUL");
  p50/p99; anchor: today's path (every price of the window read, ``scan_observations``, then the same research) on
  ``--anchor`` queries; the mapas' prices are checked equal;
- similar: ``market_data.similar_purchases`` for an ETP of 3 items, p99; anchor ``scan_similar_purchases``.
Targets: p99 ≤ 50 ms each and ≥ 50× the anchor. Prints one JSON line.

    nice .venv/bin/python bench/bench_search_index.py --items 5000000 --sqlite-items 1000000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import _harness as h

REFERENCE = date(2026, 6, 30)
BATCH = 5000
ISSUE_QUERIES = ("PAPEL A4 75 G/M2", "CANETA ESFEROGRÁFICA AZUL")


class Corpus:
    """The real SIASG descriptions cut into names and attribute segments, with their codes, units, UFs, prices."""

    def __init__(self) -> None:
        import polars as pl

        frame = pl.read_parquet(h.ROOT / "seeds" / "prices" / "siasg_homologados_2016_2022.parquet")
        self.by_name: dict[str, list[list[str]]] = defaultdict(list)
        self.code: dict[str, str] = {}
        self.prices: dict[str, list[float]] = defaultdict(list)
        self.units = [u for u in frame["unidade"].to_list() if u]
        self.ufs = [u for u in frame["uf"].to_list() if u]
        for row in frame.iter_rows(named=True):
            text = (row["descricao_catalogo"] or "").strip()
            name, _, rest = text.partition(",")
            segments = [s.strip() for s in rest.replace(";", "  ").split("  ") if s.strip()]
            self.by_name[name].append(segments)
            self.code.setdefault(name, row["codigo_catalogo"])
            with contextlib.suppress(TypeError, ValueError):
                self.prices[name].append(float(row["preco_unitario"]))
        self.names = sorted(self.by_name)
        self.all_segments = [s for group in self.by_name.values() for segs in group for s in segs]

    def description(self, rng: random.Random) -> tuple[str, str]:
        name = rng.choice(self.names)
        own = rng.choice(self.by_name[name])
        pool = [s for segs in self.by_name[name] for s in segs]
        kept = [s if rng.random() < 0.7 or not pool else rng.choice(pool) for s in own]
        if rng.random() < 0.3:
            kept.append(rng.choice(self.all_segments))
        return (name + (", " + "  ".join(dict.fromkeys(kept)) if kept else "")), name

    def price(self, rng: random.Random, name: str) -> float:
        base = rng.choice(self.prices[name]) if self.prices[name] else 100.0
        return round(max(base * math.exp(rng.gauss(0, 0.25)), 0.01), 4)


def generate(corpus: Corpus, n: int, seed: int):
    """Batches of (contratações, items, results) rows, as the parser produces them, ``BATCH`` items a time."""
    rng = random.Random(seed)
    start = datetime.combine(REFERENCE - timedelta(days=360), datetime.min.time())
    run = uuid.uuid4().int % 10**6
    for first in range(0, n, BATCH):
        compras, items, results = [], [], []
        for i in range(first, min(first + BATCH, n)):
            compra, numero = divmod(i, 8)
            control = f"{10**13 + compra * 7919 + run:014d}-1-{compra % 999999 + 1:06d}/2026"
            published = start + timedelta(minutes=rng.randint(0, 359 * 24 * 60))
            uf = corpus.ufs[compra % len(corpus.ufs)]
            if numero == 0:
                compras.append(
                    {
                        "numero_controle_pncp": control,
                        "cnpj_orgao": control[:14],
                        "razao_social_orgao": "Órgão de teste",
                        "ano_compra": 2026,
                        "sequencial_compra": compra % 999999 + 1,
                        "modalidade_id": 6,
                        "objeto_compra": "",
                        "uf": uf,
                        "data_publicacao_pncp": published,
                        "data_atualizacao": published,
                        "raw": {"numeroControlePNCP": control},
                        "srp": False,
                    }
                )
            descricao, name = corpus.description(rng)
            if numero < 3:
                compras[-1]["objeto_compra"] += ("; " if compras[-1]["objeto_compra"] else "Aquisição de ") + name
            price, quantity = corpus.price(rng, name), float(rng.randint(1, 500))
            unit = rng.choice(corpus.units)
            items.append(
                {
                    "numero_controle_pncp": control,
                    "numero_item": numero + 1,
                    "descricao": descricao,
                    "material_ou_servico": "M",
                    "quantidade": quantity,
                    "unidade_medida": unit,
                    "valor_unitario_estimado": price,
                    "codigo_catalogo": corpus.code[name],
                    "tem_resultado": True,
                    "orcamento_sigiloso": False,
                    "uf": uf,
                    "data_publicacao_pncp": published,
                    "data_atualizacao": published,
                    "raw": {"numeroItem": numero + 1, "descricao": descricao, "unidadeMedida": unit},
                }
            )
            results.append(
                {
                    "numero_controle_pncp": control,
                    "numero_item": numero + 1,
                    "sequencial_resultado": 1,
                    "quantidade_homologada": quantity,
                    "valor_unitario_homologado": price,
                    "valor_total_homologado": round(price * quantity, 4),
                    "data_resultado": (published + timedelta(days=rng.randint(1, 30))).date(),
                    "data_atualizacao": published,
                    "raw": {"numeroItem": numero + 1},
                }
            )
        yield compras, items, results


def load(url: str, corpus: Corpus, n: int) -> dict:
    """Store ``n`` items (and their contratações and results) through the upsert, index maintained; the items'
    rate is the ingest figure."""
    from models.crud.market import upsert
    from models.db import session_scope
    from models.market import PncpContratacao, PncpItem, PncpResultado

    item_seconds = 0.0
    for compras, items, results in generate(corpus, n, seed=20):
        with session_scope(url) as session:
            if compras:
                upsert(session, PncpContratacao, compras)
            started = time.perf_counter()
            upsert(session, PncpItem, items)
            session.flush()
            item_seconds += time.perf_counter() - started
            upsert(session, PncpResultado, results)
    return {"items_per_s": round(n / item_seconds)}


def rebuild(url: str, n: int) -> dict:
    """Drop the index and build it again over the stored rows; its size."""
    from models import search_index
    from models.db import get_engine

    engine = get_engine(url)
    with engine.begin() as connection:
        search_index.drop(connection)
    started = time.perf_counter()
    with engine.begin() as connection:
        search_index.build(connection)
    for table in search_index.SOURCES:
        for _ in search_index.reindex_batches(engine, table):
            pass
    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            size = connection.exec_driver_sql(
                "SELECT pg_relation_size('ix_pncp_itens_busca') + (SELECT sum(pg_column_size(busca)) + "
                "sum(pg_column_size(termos)) FROM pncp_itens)"
            ).scalar_one()
        else:
            size = (
                connection.exec_driver_sql(
                    "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'pncp_itens_fts%'"
                ).scalar_one()
                + connection.exec_driver_sql("SELECT sum(length(termos)) FROM pncp_itens").scalar_one()
            )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE pncp_itens")
            connection.exec_driver_sql("ANALYZE pncp_contratacoes")
            connection.exec_driver_sql("ANALYZE pncp_resultados")
    millions = n / 1e6
    return {
        "build_s_per_million": round(seconds / millions, 1),
        "size_mb_per_million": round(size / 2**20 / millions, 1),
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def queries(url: str, corpus: Corpus, count: int, anchors: int) -> dict:
    from models.db import session_scope
    from tasks.prices import market_data
    from tasks.prices.research import research

    rng = random.Random(5)
    wanted = list(ISSUE_QUERIES) + [corpus.description(rng)[0] for _ in range(count)]
    etps = [[corpus.description(rng)[0] for _ in range(3)] for _ in range(max(count // 3, 5))]

    def mapa(observations, description):
        return research(observations, reference_date=REFERENCE, description=description, outliers="none")

    timings, reads, sizes = [], [], []
    with session_scope(url) as session:
        for description in wanted[:5]:  # warm the caches (pg_stats, the stemmer)
            market_data.observations(session, reference_date=REFERENCE, description=description)
        for description in wanted:
            started = time.perf_counter()
            found = market_data.observations(session, reference_date=REFERENCE, description=description)
            read = time.perf_counter()
            result = mapa(found, description)
            timings.append(time.perf_counter() - started)
            reads.append(read - started)
            sizes.append(result.n)
        similar = []
        for descriptions in etps:
            started = time.perf_counter()
            market_data.similar_purchases(session, descriptions, limit=8)
            similar.append(time.perf_counter() - started)
        anchor_times, anchor_similar, equal = [], [], True
        for description in wanted[:anchors]:
            started = time.perf_counter()
            old = mapa(market_data.scan_observations(session, reference_date=REFERENCE), description)
            anchor_times.append(time.perf_counter() - started)
            new = mapa(
                market_data.observations(session, reference_date=REFERENCE, description=description), description
            )
            key = lambda m: sorted((p.observation.numero_controle_pncp, p.observation.numero_item) for p in m.precos)  # noqa: E731
            equal = equal and key(old) == key(new)
        for descriptions in etps[:1]:
            started = time.perf_counter()
            market_data.scan_similar_purchases(session, descriptions, limit=8)
            anchor_similar.append(time.perf_counter() - started)
    estimate_p99, similar_p99 = _quantile(timings, 0.99), _quantile(similar, 0.99)
    return {
        "estimate_p50_ms": round(statistics.median(timings) * 1000, 1),
        "estimate_p99_ms": round(estimate_p99 * 1000, 1),
        "estimate_queries": len(timings),
        # the estimate's two parts: reading the comparable prices (index + their rows) and the IN 65 mapa over them
        "estimate_read_p50_ms": round(statistics.median(reads) * 1000, 1),
        "estimate_read_p99_ms": round(_quantile(reads, 0.99) * 1000, 1),
        "estimate_prices_median": statistics.median(sizes),
        "estimate_prices_p99": _quantile(sizes, 0.99),
        "estimate_prices_max": max(sizes),
        "similar_p50_ms": round(statistics.median(similar) * 1000, 1),
        "similar_p99_ms": round(similar_p99 * 1000, 1),
        "similar_etps": len(similar),
        "anchor_estimate_s": round(statistics.median(anchor_times), 2),
        "anchor_similar_s": round(statistics.median(anchor_similar), 2),
        "estimate_speedup_p99": round(statistics.median(anchor_times) / estimate_p99, 1),
        "similar_speedup_p99": round(statistics.median(anchor_similar) / similar_p99, 1),
        "anchor_equal": equal,
    }


def code_plan(url: str) -> bool:
    """Whether the research by catalogue code reads the code's index with the date filter (EXPLAIN)."""
    from sqlalchemy import text

    from models.db import session_scope
    from tasks.prices.market_data import PRICES_SQL

    with session_scope(url) as session:
        plan = "\n".join(
            r[0]
            for r in session.connection().execute(
                text("EXPLAIN " + PRICES_SQL + " AND c.data_publicacao_pncp >= :start AND i.codigo_catalogo = :code"),
                {"start": datetime(2025, 5, 1), "code": "150566"},
            )
        )
    return "ix_pncp_itens_catalogo" in plan


def run(url: str, corpus: Corpus, n: int, count: int, anchors: int) -> dict:
    from models.migrate import upgrade

    upgrade(url)
    out = {"items": n}
    started = time.perf_counter()
    out |= load(url, corpus, n)
    out["load_s"] = round(time.perf_counter() - started, 1)
    out |= rebuild(url, n)
    out |= queries(url, corpus, count, anchors)
    if url.startswith("postgresql"):
        out["code_path_uses_index"] = code_plan(url)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5_000_000, help="items on PostgreSQL")
    parser.add_argument("--sqlite-items", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--anchor", type=int, default=2)
    args = parser.parse_args()
    from sqlalchemy import create_engine, text

    corpus = Corpus()
    name = f"nexora_bench_search_{uuid.uuid4().hex[:8]}"
    admin = create_engine(h.PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    pg_url = h.PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    results = {}
    try:
        results["postgresql"] = run(pg_url, corpus, args.items, args.queries, args.anchor)
    finally:
        from models.db import get_engine

        get_engine(pg_url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = run(
            f"sqlite:///{Path(folder) / 'search.db'}", corpus, args.sqlite_items, args.queries, args.anchor
        )
    pg, lite = results["postgresql"], results["sqlite"]
    targets = (
        all(
            r["estimate_p99_ms"] <= 50
            and r["similar_p99_ms"] <= 50
            and r["estimate_speedup_p99"] >= 50
            and r["similar_speedup_p99"] >= 50
            for r in (pg, lite)
        )
        and pg["items_per_s"] >= 20000
    )
    print(
        json.dumps(
            {
                "bench": "search_index",
                "work": "IN 65 research by description and ETP similar contratações via the search index vs full scan",
                **results,
                "targets": "p99 <= 50 ms and >= 50x the full scan, each DB; ingest >= 20,000 items/s on PostgreSQL",
                "targets_met": targets,
                "machine": h.MACHINE,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
