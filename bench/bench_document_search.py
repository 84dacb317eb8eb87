"""Search over our own documents: latency of `GET /documents/search`'s query (models.crud.search.search_documents:
the ranked page of 20, the count and the snippets) over 100,000 ETPs/TRs, on PostgreSQL (weighted tsvector, GIN,
ts_rank_cd, ts_headline) and SQLite (FTS5 over stems, bm25, snippets marked in Python).

The documents are generated from the embedded templates' section titles (seeds/etp.json, seeds/tr.json) and the
benchmark sentences of bench/_documents.py, each about one of ~60 objects bought by public bodies, so a subject word
matches ~1–3% of them, as in a real archive; they are written straight into `documents` and the index
(`document_search`, and on SQLite its FTS5 tables through models.search.fts_values): the same rows
models.search.sync_document writes, without 100,000 ORM round trips.

Anchor, same run, same rows, same queries: what a user would otherwise do — `ILIKE '%term%'` (SQLite: LIKE) over
the title, object and sections, newest first, 20 rows and the count (on the first BENCH_ANCHOR_QUERIES queries,
once: it reads every row's text). Target: p99 ≤ 100 ms on PostgreSQL. Prints one
JSON line. The search counts at most models.crud.search.MAX_RANKED matches, so `matches_median` is capped there too.
BENCH_KEEP=1 keeps the loaded databases for the next run (`load_s` is null when they were reused).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import _harness as h
from _documents import SENTENCES

N = int(os.environ.get("BENCH_N", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# the anchor reads every row's text: seconds a query at 100,000 documents, so it runs on the first queries, once
N_ANCHOR_QUERIES = int(os.environ.get("BENCH_ANCHOR_QUERIES", "5"))
# BENCH_KEEP=1: keep the loaded databases (PostgreSQL `nexora_bench_search_keep_<N>`, SQLite
# /tmp/nexora_bench_search_keep_<N>.db) and reuse them on the next run: loading takes ~8 min on PostgreSQL, and a
# change to the query alone needs no reload (a change to migration 0018 does: drop them first)
KEEP = os.environ.get("BENCH_KEEP") == "1"
OBJECTS = [
    "notebooks", "computadores de mesa", "monitores", "impressoras multifuncionais", "cadeiras ergonômicas",
    "mesas de reunião", "armários de aço", "ar-condicionado split", "vigilância armada", "limpeza predial",
    "copeiragem", "recepção", "manutenção predial", "jardinagem", "combustível", "veículos utilitários",
    "passagens aéreas", "telefonia móvel", "link de internet", "licenças de software", "nuvem pública",
    "suporte técnico", "papel A4", "canetas esferográficas", "toner", "material de limpeza", "uniformes",
    "equipamentos de proteção individual", "extintores", "elevadores", "grupo gerador", "nobreaks", "switches",
    "firewall", "certificados digitais", "servidores de rede", "armazenamento de dados", "cabeamento estruturado",
    "mobiliário escolar", "merenda escolar", "medicamentos", "material hospitalar", "ambulâncias", "oxigênio",
    "exames laboratoriais", "coleta de resíduos", "dedetização", "capacitação de servidores", "eventos",
    "consultoria", "auditoria", "engenharia de obras", "reforma de telhado", "pintura predial", "drones",
    "câmeras de segurança", "controle de acesso", "água mineral", "café", "gás de cozinha",
]  # fmt: skip
QUERIES = [
    "notebooks", "cadeiras ergonômicas", "limpeza predial", "vigilância armada", "manutenção de ar-condicionado",
    "licenças de software", "canetas", "material hospitalar", "coleta de resíduos", "câmeras de segurança",
    "combustível para veículos", "capacitação", "nobreak", "reforma do telhado", "merenda",
]  # fmt: skip
COMMON = "contratação"  # a word in almost every document: the worst case, reported apart


def templates() -> dict[str, list[dict]]:
    return {
        kind: json.loads((h.ROOT / "seeds" / f"{kind.lower()}.json").read_text(encoding="utf-8"))["sections"]
        for kind in ("ETP", "TR")
    }


def generate(n: int) -> list[dict]:
    """n documents: header and the three index texts (object, sections, estimate), as models.search.index_texts
    composes them from the sections."""
    from models.search import index_texts

    rng = random.Random(11)
    specs = templates()
    out, start = [], datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(n):
        kind = "ETP" if i % 3 else "TR"
        obj = rng.choice(OBJECTS)
        fields = {}
        for spec in specs[kind]:
            text = f"{spec['title']}: " + " ".join(rng.choice(SENTENCES) for _ in range(3))
            if spec["slug"] in ("definicao_objeto", "descricao_necessidade"):
                text = f"Contratação de {obj} para a unidade, {spec['title'].lower()}. {text}"
            elif spec.get("market_data") == "price_estimate":
                text = f"Valor estimado de R$ {rng.randint(10, 9000) * 1000:,} para {obj}. {text}"
            fields[spec["slug"]] = (text, None)
        texts = index_texts(f"Processo {i}: {obj}.", specs[kind], fields)
        out.append(
            {
                "id": uuid.uuid4(),
                "kind": kind,
                "titulo": f"{'Aquisição' if i % 2 else 'Contratação'} de {obj} — lote {i}",
                "orgao": rng.choice(["Ministério da Gestão", "Ministério da Saúde", "Ministério da Educação"]),
                "status": rng.choice(["rascunho", "em_revisao", "aprovado", "publicado"]),
                "sigiloso": i % 10 == 0,
                "updated_at": start + timedelta(minutes=i),
                **texts,
            }
        )
    return out


def fresh(kind: str, procs: h.Processes) -> tuple[str, bool]:
    """The database's URL and whether it already holds the N documents (BENCH_KEEP=1, a previous run's)."""
    from sqlalchemy import create_engine, text

    from models.migrate import upgrade

    if kind == "sqlite":
        path = f"/tmp/nexora_bench_search_keep_{N}.db" if KEEP else str(h.HOME / "data" / "search.db")
        url = f"sqlite:///{path}"
    else:
        name = f"nexora_bench_search_keep_{N}" if KEEP else f"nexora_bench_search_{os.getpid()}"
        admin = create_engine(h.PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not (KEEP and exists):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        if not KEEP:
            procs.pg_databases.append(name)
        url = h.PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    if not KEEP:
        return url, False
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM document_search")).scalar_one()
    engine.dispose()
    if count not in (0, N):
        raise SystemExit(f"{url}: {count} documents, not {N}: drop it (or its file) and run again")
    return url, count == N


def load(url: str, docs: list[dict]) -> float:
    """Write the documents and their index rows; seconds taken."""
    from sqlalchemy import insert, select, text

    from models.crud.templates import default_template, seed_templates
    from models.db import session_scope, table_of
    from models.document import Document
    from models.enums import DocumentKind
    from models.search import FTS_TABLES, DocumentSearch, fts_values

    began = time.perf_counter()
    with session_scope(url) as session:
        seed_templates(session)
        tpl = {k: default_template(session, DocumentKind(k)) for k in ("ETP", "TR")}
        for at in range(0, len(docs), 5000):
            batch = docs[at : at + 5000]
            session.execute(
                insert(table_of(Document)),
                [
                    {
                        "id": d["id"], "kind": d["kind"], "titulo": d["titulo"], "numero_processo": f"23000.{i}/2026",
                        "orgao": d["orgao"], "unidade": "", "context": "", "template_id": tpl[d["kind"]].id,
                        "template_version": tpl[d["kind"]].version, "status": d["status"], "version": 1,
                        "orcamento_sigiloso": d["sigiloso"], "dfd_numeros": [], "pca_itens": [], "itens": [],
                        "created_at": d["updated_at"], "updated_at": d["updated_at"],
                    }
                    for i, d in enumerate(batch, start=at)
                ],
            )  # fmt: skip
            session.execute(
                insert(table_of(DocumentSearch)),
                [
                    {"document_id": d["id"], "title": d["titulo"], "object": d["object"], "sections": d["sections"],
                     "estimate": d["estimate"], "updated_at": d["updated_at"]}
                    for d in batch
                ],
            )  # fmt: skip
            if url.startswith("sqlite"):
                rows = session.exec(
                    select(DocumentSearch).where(DocumentSearch.document_id.in_([d["id"] for d in batch]))  # type: ignore[attr-defined]
                ).all()
                for table, columns in FTS_TABLES.items():
                    session.execute(
                        text(f"INSERT INTO {table} (rowid, {', '.join(columns)}) VALUES (:id, :{', :'.join(columns)})"),
                        [fts_values(r[0] if not isinstance(r, DocumentSearch) else r) for r in rows],
                    )
            session.commit()
        if not url.startswith("sqlite"):
            session.execute(text("ANALYZE"))
    return time.perf_counter() - began


def ours(url: str, query: str) -> tuple[float, int]:
    from models.crud.search import search_documents
    from models.db import session_scope

    began = time.perf_counter()
    with session_scope(url) as session:
        hits, count, _, _ = search_documents(session, query, cleared=False, limit=20)
        assert all("«" in hit.snippet or query == COMMON for hit in hits[:1]), (query, hits[:1])
    return time.perf_counter() - began, count


def anchor(url: str, query: str) -> tuple[float, int]:
    from sqlalchemy import text

    from models.db import session_scope

    like = "ILIKE" if not url.startswith("sqlite") else "LIKE"
    where = " OR ".join(f"s.{c} {like} :p" for c in ("title", "object", "sections"))
    began = time.perf_counter()
    with session_scope(url) as session:
        params = {"p": f"%{query}%"}
        count = session.execute(text(f"SELECT count(*) FROM document_search s WHERE {where}"), params).scalar_one()
        session.execute(
            text(
                "SELECT d.id, d.titulo, s.object FROM document_search s JOIN documents d ON d.id = s.document_id "
                f"WHERE {where} ORDER BY d.updated_at DESC LIMIT 20"
            ),
            params,
        ).all()
    return time.perf_counter() - began, count


def measure(url: str) -> dict:
    ours(url, QUERIES[0])  # warm the engine and the caches
    anchor(url, QUERIES[0])
    mine, theirs, counts = [], [], {}
    for round_ in range(ROUNDS):
        for position, query in enumerate(QUERIES):
            seconds, counts[query] = ours(url, query)
            mine.append(seconds)
            if round_ == 0 and position < N_ANCHOR_QUERIES:
                theirs.append(anchor(url, query)[0])
    common = [ours(url, COMMON)[0] for _ in range(3)]
    p50, p99 = h.percentile(mine, 50) * 1000, h.percentile(mine, 99) * 1000
    a50, a99 = h.percentile(theirs, 50) * 1000, h.percentile(theirs, 99) * 1000
    return {
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "anchor_p50_ms": round(a50, 1),
        "anchor_p99_ms": round(a99, 1),
        "ratio_p50": round(a50 / p50, 1),
        "ratio_p99": round(a99 / p99, 1),
        "queries": len(mine),
        "anchor_queries": len(theirs),
        "matches_median": sorted(counts.values())[len(counts) // 2],
        "common_word_ms": round(h.percentile(common, 50) * 1000, 1),
    }


def main() -> None:
    procs = h.Processes()
    try:
        docs: list[dict] = []
        figures = {}
        for kind in ("postgresql", "sqlite"):
            url, reused = fresh(kind, procs)
            if not reused and not docs:
                docs = generate(N)
            loaded = None if reused else round(load(url, docs), 1)
            figures[kind] = {"load_s": loaded, **measure(url)}
            from models.db import get_engine

            get_engine(url).dispose()
        pg = figures["postgresql"]
        h.emit(
            {
                "bench": "document_search",
                "unit": "ms p99",
                "ours": pg["p99_ms"],
                "anchor_name": "ILIKE '%term%' over title, object and sections, newest 20 and the count",
                "anchor": pg["anchor_p99_ms"],
                "ratio": pg["ratio_p99"],
                "target": "p99 <= 100 ms on PostgreSQL",
                "met": pg["p99_ms"] <= 100,
                "n": N,
                "postgresql": pg,
                "sqlite": figures["sqlite"],
            }
        )
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
