"""PNCP politeness: against the replay server answering every call in 2 s, with the default limits (one consulta
call every 2 s, PNCP_DETAIL_CONCURRENCY detail calls at once), the collector must stay within the limits while
using at least 90% of the consulta API's allowance.

The server records when each call arrives and how many were in flight. Within the limit: no two consulta calls
closer than the interval (less 5% for clock jitter) and never more detail calls in flight than their limit.
Use of the consulta allowance, collecting contratações only: calls made ÷ calls the limit allows over the same
span. Use of the detail limit, collecting items: detail-call seconds ÷ (limit × span). Anchor, same run: a plain
loop calling the same contratações pages one after the other with a sleep of the interval between calls (what a
careful script does). Prints one JSON line.
"""

from __future__ import annotations

import os
import time
from datetime import date

import _harness as h

LATENCY = float(os.environ.get("BENCH_LATENCY", "2.0"))


def main() -> None:
    procs = h.Processes()
    try:
        h.prepare_database()
        procs.prefect_server()
        import httpx

        from core.settings import settings
        from flows.collect_pncp import collect_pncp
        from tests.servers.pncp import PncpReplay

        interval = settings.PNCP_CONSULTA_INTERVAL_SECONDS
        limit = settings.PNCP_DETAIL_CONCURRENCY
        # 1. contratações only: the consulta API's allowance is what binds
        replay = PncpReplay(
            port=h.free_port(), per_modalidade=200, modalidades=(4, 5, 6, 7, 8, 9), odd_every=0
        ).start_server()
        replay.latency = {"consulta": LATENCY, "itens": LATENCY, "resultados": LATENCY}
        settings.PNCP_BASE_URL = replay.url
        window = {"start": date(2026, 3, 2), "end": date(2026, 3, 6)}
        started = time.monotonic()
        summary = collect_pncp(**window, modalidades=[4, 5, 6, 7, 8, 9], with_items=False)
        elapsed = time.monotonic() - started
        calls = sorted(replay.calls["consulta"])
        gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
        use = len(calls) / ((calls[-1] - calls[0]) / interval + 1)
        consulta_in_flight = replay.max_in_flight["consulta"]

        # 2. with items: the detail API's concurrency is what binds
        replay.reset()
        replay.max_in_flight.clear()
        started = time.monotonic()
        collect_pncp(**window, modalidades=[4, 5], with_results=False, restart=True)
        detail_calls = sorted(replay.calls["itens"])
        detail_span = detail_calls[-1] - detail_calls[0] + LATENCY
        detail_use = len(detail_calls) * LATENCY / (limit * detail_span)
        detail_in_flight = replay.max_in_flight["itens"]
        with_items_s = time.monotonic() - started

        # anchor: the same contratações pages, call, sleep the interval, call
        replay.reset()
        with httpx.Client(base_url=replay.url, timeout=30) as client:
            for modalidade in (4, 5, 6, 7, 8, 9):
                page = 1
                while True:
                    answer = client.get(
                        "/api/consulta/v1/contratacoes/publicacao",
                        params={
                            "dataInicial": "20260302",
                            "dataFinal": "20260306",
                            "codigoModalidadeContratacao": modalidade,
                            "pagina": page,
                            "tamanhoPagina": settings.PNCP_PAGE_SIZE,
                        },
                    )
                    if answer.status_code == 204 or answer.json()["paginasRestantes"] == 0:
                        break
                    time.sleep(interval)
                    page += 1
                time.sleep(interval)
        anchor_calls = sorted(replay.calls["consulta"])
        anchor_use = len(anchor_calls) / ((anchor_calls[-1] - anchor_calls[0]) / interval + 1)
        h.emit(
            {
                "bench": "pncp_politeness",
                "unit": "share of the consulta allowance used",
                "ours": round(use, 3),
                "anchor_name": "plain loop: call, sleep the interval, call",
                "anchor": round(anchor_use, 3),
                "ratio": round(use / anchor_use, 2),
                "within_limit": min(gaps) >= interval * 0.95,
                "min_gap_s": round(min(gaps), 3),
                "gaps_s": [round(g, 2) for g in gaps],
                "interval_s": interval,
                "latency_s": LATENCY,
                "consulta_calls": len(calls),
                "consulta_max_in_flight": consulta_in_flight,
                "pages": summary["pages"],
                "seconds": round(elapsed, 1),
                "detail_use": round(detail_use, 3),
                "detail_max_in_flight": detail_in_flight,
                "detail_limit": limit,
                "detail_calls": len(detail_calls),
                "with_items_seconds": round(with_items_s, 1),
                "slice_concurrency": settings.PNCP_SLICE_CONCURRENCY,
            }
        )
        replay.stop()
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
