"""PNCP library search: latency of `models.crud.pncp_documents.search` over 20,000 sections of ETPs/TRs on
PostgreSQL (tsvector `nexora_pt` + GIN) and SQLite (FTS5 over pre-stemmed text), and the drafting examples' query
(any word, one element). Anchor, same run, same rows and words: a scan with ILIKE '%word%' for every word (what the
search would be without an index; it also misses plurals and accents). Sections are built from the words of real
ETP/TR headings and a vocabulary of objects; the 200 queries are two words of that vocabulary. Target (report): p99
under 50 ms on PostgreSQL with 20,000 sections. Prints one JSON line.
"""

from __future__ import annotations

import os
import random
import time

import _harness as h

N = int(os.environ.get("BENCH_N", "20000"))
QUERIES = 200
OBJECTS = (
    "papel sulfite resmas cadeiras ergonômicas notebooks monitores impressoras toner cartuchos limpeza vigilância "
    "manutenção predial veículos combustível pneus medicamentos luvas seringas microscópios reagentes mobiliário "
    "ar-condicionado elevadores jardinagem copeiragem telefonia internet software licenças servidores armazenamento "
    "uniformes alimentação merenda transporte escolar obras pavimentação iluminação pública"
).split()
HEADINGS = [
    ("1. DESCRIÇÃO DA NECESSIDADE", "etp:I"),
    ("2. REQUISITOS DA CONTRATAÇÃO", "etp:III"),
    ("3. LEVANTAMENTO DE MERCADO", "etp:V"),
    ("4. DESCRIÇÃO DA SOLUÇÃO COMO UM TODO", "etp:VII"),
    ("5. POSICIONAMENTO CONCLUSIVO", "etp:XIII"),
]


def sections(rng: random.Random, n: int) -> list[tuple[dict, list[dict]]]:
    docs = []
    for d in range(n // len(HEADINGS)):
        chosen = rng.sample(OBJECTS, 3)
        docs.append(
            (
                {
                    "numero_controle_pncp": f"{10**13 + d:014d}-1-{d % 999999 + 1:06d}/2025",
                    "cnpj": f"{10**13 + d:014d}",
                    "ano": 2025,
                    "sequencial": d % 999999 + 1,
                    "sequencial_documento": 1,
                    "tipo": "etp",
                    "titulo": f"ETP {chosen[0]}",
                    "url": "",
                    "uf": rng.choice(["DF", "SP", "GO", "BA"]),
                    "status": "indexed",
                },
                [
                    {
                        "position": p + 1,
                        "heading": heading,
                        "element": element,
                        "text": f"A unidade necessita de {chosen[0]} e {chosen[1]} para as suas atividades; "
                        f"foram considerados {chosen[2]} e as alternativas de mercado. " * 4,
                    }
                    for p, (heading, element) in enumerate(HEADINGS)
                ],
            )
        )
    return docs


def fill(url: str, docs) -> float:
    from models.crud.pncp_documents import store_document
    from models.db import session_scope

    started = time.perf_counter()
    for first in range(0, len(docs), 500):
        with session_scope(url) as session:
            for document, parts in docs[first : first + 500]:
                store_document(session, document, parts)
    return time.perf_counter() - started


def ours(url: str, queries: list[str], **kw) -> list[float]:
    from models.crud.pncp_documents import search
    from models.db import session_scope

    times = []
    with session_scope(url) as session:
        for q in queries:
            started = time.perf_counter()
            search(session, q, limit=10, **kw)
            times.append((time.perf_counter() - started) * 1000)
    return times


def anchor(url: str, queries: list[str]) -> list[float]:
    from sqlalchemy import text

    from models.db import session_scope

    times = []
    with session_scope(url) as session:
        like = "ILIKE" if session.get_bind().dialect.name == "postgresql" else "LIKE"
        for q in queries:
            a, b = q.split()
            started = time.perf_counter()
            session.connection().execute(
                text(
                    f"SELECT s.id FROM pncp_document_sections s JOIN pncp_documents d ON d.id = s.document_id "
                    f"WHERE d.status = 'indexed' AND s.text {like} :a AND s.text {like} :b LIMIT 10"
                ),
                {"a": f"%{a}%", "b": f"%{b}%"},
            ).all()
            times.append((time.perf_counter() - started) * 1000)
    return times


def fresh(kind: str, procs: h.Processes) -> str:
    return procs.migrated_database(kind, "library")


def stats(times: list[float]) -> dict:
    return {"p50_ms": round(h.percentile(times, 50), 2), "p99_ms": round(h.percentile(times, 99), 2)}


def main() -> None:
    procs = h.Processes()
    rng = random.Random(7)
    docs = sections(rng, N)
    queries = [" ".join(rng.sample(OBJECTS, 2)) for _ in range(QUERIES)]
    try:
        figures = {}
        for kind in ("postgresql", "sqlite"):
            url = fresh(kind, procs)
            load = fill(url, docs)
            mine, plain = stats(ours(url, queries)), stats(anchor(url, queries))
            examples = stats(ours(url, queries, tipo="etp", element="etp:I", match_all=False))
            figures[kind] = {
                **mine,
                "anchor": plain,
                "examples_query": examples,
                "ratio_p50": round(plain["p50_ms"] / max(mine["p50_ms"], 0.001), 1),
                "store_sections_per_s": round(N / load),
            }
            from models.db import get_engine

            get_engine(url).dispose()
        pg = figures["postgresql"]
        h.emit(
            {
                "bench": "pncp_library",
                "unit": "ms (p50 of a search)",
                "ours": pg["p50_ms"],
                "anchor_name": "ILIKE '%word%' scan for every word",
                "anchor": pg["anchor"]["p50_ms"],
                "ratio": pg["ratio_p50"],
                "n_sections": N,
                "queries": QUERIES,
                "postgresql": pg,
                "sqlite": figures["sqlite"],
            }
        )
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
