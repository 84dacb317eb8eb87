"""Database tasks of collect-pncp: read a slice's checkpoint; store one page (records, quarantine, detail gaps,
checkpoint) in one transaction, so a page is either stored with its checkpoint or not at all; read the detail gaps
due for another attempt and store what that attempt got."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.crud import detail_gaps, market
from models.db import session_scope
from models.market import PncpContratacao, PncpItem, PncpResultado
from tasks.retry import DB_RETRIES


@task(name="pncp-checkpoint", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def read_checkpoint(endpoint: str, modalidade: int | None, uf: str | None, start: date, end: date,
                    restart: bool = False) -> dict[str, Any]:
    with session_scope() as session:
        row = market.checkpoint(session, endpoint, modalidade, uf, start, end)
        if restart:
            row.last_page, row.done = 0, False
            session.add(row)
        return {"key": row.slice_key, "last_page": row.last_page, "done": row.done}


@task(name="pncp-store-page", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def store_page(key: str, page: int, total_pages: int | None, done: bool, contratacoes: list[dict[str, Any]],
               itens: list[dict[str, Any]], resultados: list[dict[str, Any]], quarantined: list[dict[str, Any]],
               flow_run_id: str | None, details: dict[str, Any] | None = None) -> dict[str, int]:
    """Upsert the page's records, quarantine the bad ones, open or close detail gaps (``details``: ``source``,
    ``failed``, ``stored``) and advance the checkpoint, in one transaction."""
    with session_scope() as session:
        counts = store_records(session, contratacoes, itens, resultados, quarantined, flow_run_id)
        if details:
            counts.update(_store_gaps(session, details, flow_run_id))
        market.advance(session, key, page, total_pages, done)
    return counts


@task(name="pncp-detail-gaps-due", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def read_due_gaps(source: str, modalidades: list[int] | None, ufs: list[str] | None, limit: int) -> list[dict]:
    with session_scope() as session:
        return detail_gaps.due(session, source, modalidades, ufs, limit)


@task(name="pncp-store-details", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def store_details(itens: list[dict[str, Any]], resultados: list[dict[str, Any]], quarantined: list[dict[str, Any]],
                  details: dict[str, Any], flow_run_id: str | None) -> dict[str, int]:
    """Store the items and results a new attempt got and close or re-judge its gaps, in one transaction."""
    with session_scope() as session:
        counts = store_records(session, [], itens, resultados, quarantined, flow_run_id)
        counts.update(_store_gaps(session, details, flow_run_id))
    return counts


def _store_gaps(session, details: dict[str, Any], flow_run_id: str | None) -> dict[str, int]:
    filled = detail_gaps.mark_filled(session, details["source"], details["stored"])
    judged = detail_gaps.record_failures(session, details["source"], details["failed"], flow_run_id)
    return {"detail_gaps_filled": filled, "detail_gaps_pending": judged["pending"],
            "detail_gaps_discarded": judged["discarded"]}


def store_records(session, contratacoes: list[dict[str, Any]], itens: list[dict[str, Any]],
                  resultados: list[dict[str, Any]], quarantined: list[dict[str, Any]],
                  flow_run_id: str | None = None) -> dict[str, int]:
    """Upsert rows of the three tables and quarantine the bad records, in the caller's transaction."""
    counts: dict[str, int] = {}
    for name, model, rows in (("contratacoes", PncpContratacao, contratacoes), ("itens", PncpItem, itens),
                              ("resultados", PncpResultado, resultados)):
        for outcome, number in market.upsert(session, model, rows).items():
            counts[f"{name}_{outcome}"] = number
    for bad in quarantined:
        market.quarantine(session, bad["kind"], bad["source"], bad["reason"],
                          json.dumps(bad["raw"], ensure_ascii=False, default=str)
                          if not isinstance(bad["raw"], str) else bad["raw"],
                          record_key=bad.get("key"), flow_run_id=flow_run_id)
    counts["quarantined"] = len(quarantined)
    return counts
