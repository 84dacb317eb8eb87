"""The market tables' writes of a PNCP collection, in the caller's transaction: records upserted on their natural
keys, bad records quarantined, detail gaps opened, filled or given up (also used by `nexora pncp import-html`)."""

from __future__ import annotations

import json
from typing import Any

from models.crud import detail_gaps, market
from models.market import PncpContratacao, PncpItem, PncpResultado


def store_gaps(session, details: dict[str, Any], flow_run_id: str | None) -> dict[str, int]:
    filled = detail_gaps.mark_filled(session, details["source"], details["stored"])
    judged = detail_gaps.record_failures(session, details["source"], details["failed"], flow_run_id)
    return {
        "detail_gaps_filled": filled,
        "detail_gaps_pending": judged["pending"],
        "detail_gaps_discarded": judged["discarded"],
    }


def store_records(
    session,
    contratacoes: list[dict[str, Any]],
    itens: list[dict[str, Any]],
    resultados: list[dict[str, Any]],
    quarantined: list[dict[str, Any]],
    flow_run_id: str | None = None,
) -> dict[str, int]:
    """Upsert rows of the three tables and quarantine the bad records, in the caller's transaction."""
    counts: dict[str, int] = {}
    for name, model, rows in (
        ("contratacoes", PncpContratacao, contratacoes),
        ("itens", PncpItem, itens),
        ("resultados", PncpResultado, resultados),
    ):
        for outcome, number in market.upsert(session, model, rows).items():
            counts[f"{name}_{outcome}"] = number
    for bad in quarantined:
        market.quarantine(
            session,
            bad["kind"],
            bad["source"],
            bad["reason"],
            json.dumps(bad["raw"], ensure_ascii=False, default=str) if not isinstance(bad["raw"], str) else bad["raw"],
            record_key=bad.get("key"),
            flow_run_id=flow_run_id,
        )
    counts["quarantined"] = len(quarantined)
    return counts
