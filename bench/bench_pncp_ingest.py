"""PNCP ingest: items per second upserted into PostgreSQL and SQLite, batched, with their raw JSON.

Ours: models.crud.market.upsert (PostgreSQL: COPY into a temporary table and one INSERT … SELECT … ON CONFLICT DO
UPDATE … RETURNING per batch; SQLite: one compiled INSERT … ON CONFLICT per 1,000 rows after one SELECT of the stored
versions), 5,000 items per transaction, on a fresh database of each kind. Anchor, same run, same rows: one ORM
insert per row (session.add + flush), on the first N_ANCHOR items. A second pass of ours upserts the same items
again (all "unchanged"). Items are shaped on the real PNCP item (tests/data/pncp). Target: ≥ 20,000 items/s on
PostgreSQL and ≥ 20× the anchor. Prints one JSON line.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from datetime import datetime, timedelta

import _harness as h

N = int(os.environ.get("BENCH_N", "50000"))
N_ANCHOR = int(os.environ.get("BENCH_N_ANCHOR", "3000"))
BATCH = 5000


def items(n: int) -> list[dict]:
    from tasks.pncp import parse

    template = json.loads(
        (h.ROOT / "tests" / "data" / "pncp" / "05_pncp_v1_compras_itens_item_Ceara_2026.json").read_text(
            encoding="utf-8"
        )
    )
    rng = random.Random(3)
    rows, start = [], datetime(2026, 1, 5, 9)
    for i in range(n):
        compra, numero = divmod(i, 8)
        control = f"{10**13 + compra * 7919:014d}-1-{compra % 999999 + 1:06d}/2026"
        raw = copy.deepcopy(template)
        raw.update(
            {
                "numeroItem": numero + 1,
                "quantidade": float(rng.randint(1, 5000)),
                "valorUnitarioEstimado": round(rng.uniform(0.5, 9000), 4),
                "unidadeMedida": rng.choice(["UNIDADE", "Caixa", "Resma", "Litro", "KG"]),
                "catalogoCodigoItem": str(rng.randint(100000, 499999)),
                "descricao": f"Item de referência {i}: material de consumo conforme especificação técnica",
                "dataAtualizacao": (start + timedelta(minutes=i)).isoformat(),
            }
        )
        parent = {"numero_controle_pncp": control, "uf": rng.choice(["DF", "SP", "BA"]), "data_publicacao_pncp": start}
        rows.append(parse.item(raw, parent))
    return rows


def ours(url: str, rows: list[dict]) -> tuple[float, dict]:
    from models.crud.market import upsert
    from models.db import session_scope
    from models.market import PncpItem

    totals: dict[str, int] = {}
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        with session_scope(url) as session:
            for key, value in upsert(session, PncpItem, rows[start : start + BATCH]).items():
                totals[key] = totals.get(key, 0) + value
    return len(rows) / (time.perf_counter() - started), totals


def anchor(url: str, rows: list[dict]) -> float:
    from models.db import session_scope
    from models.market import PncpItem

    started = time.perf_counter()
    with session_scope(url) as session:
        for row in rows:
            session.add(PncpItem(**{**row, "numero_controle_pncp": "A" + row["numero_controle_pncp"][1:]}))
            session.flush()
    return len(rows) / (time.perf_counter() - started)


def fresh(kind: str, procs: h.Processes) -> str:
    return procs.migrated_database(kind, "ingest")


def main() -> None:
    procs = h.Processes()
    try:
        rows = items(N)
        figures = {}
        for kind in ("postgresql", "sqlite"):
            url = fresh(kind, procs)
            rate, totals = ours(url, rows)
            again, repeat = ours(url, rows)
            plain = anchor(url, rows[:N_ANCHOR])
            figures[kind] = {
                "items_per_s": round(rate),
                "again_items_per_s": round(again),
                "anchor_items_per_s": round(plain),
                "ratio": round(rate / plain, 1),
                "inserted": totals["inserted"],
                "unchanged_on_repeat": repeat["unchanged"],
            }
            from models.db import get_engine

            get_engine(url).dispose()
        pg = figures["postgresql"]
        h.emit(
            {
                "bench": "pncp_ingest",
                "unit": "items/s",
                "ours": pg["items_per_s"],
                "anchor_name": "one ORM insert per row (session.add + flush)",
                "anchor": pg["anchor_items_per_s"],
                "ratio": pg["ratio"],
                "n": N,
                "n_anchor": N_ANCHOR,
                "batch": BATCH,
                "postgresql": pg,
                "sqlite": figures["sqlite"],
            }
        )
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
