"""Tasks of collect-pncp. PNCP calls: one consulta page, the items and results of one contratação, retried by the
PNCP policy (``with_retries``). Database: read a slice's checkpoint; store one page (records, quarantine, detail gaps,
checkpoint) in one transaction, so a page is either stored with its checkpoint or not at all; read the detail gaps
due for another attempt and store what that attempt got."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency
from prefect.tasks import exponential_backoff

from core.limits import DETAIL_LIMIT
from core.settings import settings
from models.crud import detail_gaps, market
from models.db import session_scope
from tasks.pncp.client import SOURCE, Page, PncpError, consulta_page, items_and_results
from tasks.pncp.store import store_gaps, store_records
from tasks.retry import DB_RETRIES, declared_retryable, retry_on


def _retry_options() -> dict[str, Any]:
    """The PNCP retry policy of the current settings: read when a run submits the calls (runs and tests set
    PNCP_RETRIES and the back-off), so ``with_retries`` applies it rather than the decorators."""
    return {
        "retries": settings.PNCP_RETRIES,
        "retry_delay_seconds": exponential_backoff(backoff_factor=max(settings.PNCP_RETRY_BASE_SECONDS, 0.001)),
        "retry_jitter_factor": 0.5,
        # a PncpError says whether asking again may help; anything else unexpected: not worth hammering the server
        "retry_condition_fn": retry_on(PncpError, when=declared_retryable),
    }


def with_retries(fn):
    """The task with the PNCP retry policy of the current settings."""
    return fn.with_options(**_retry_options())


@task(name="pncp-page", cache_policy=NO_CACHE, persist_result=False)
def fetch_page(
    endpoint: str, start: date, end: date, page: int, modalidade: int | None = None, uf: str | None = None
) -> Page:
    return consulta_page(endpoint, start, end, page, modalidade, uf)


@task(name="pncp-itens", cache_policy=NO_CACHE, persist_result=False)
def fetch_items(cnpj: str, ano: int, sequencial: int, with_results: bool) -> dict[str, Any]:
    """Every item of a compra (all pages) and, if asked, each item's results.

    The detail API's concurrency is bounded by the flow's thread pool (PNCP_DETAIL_CONCURRENCY workers) and, across
    runs and workers, by the global limit ``pncp-detalhe``: one slot per contratação, not per call (a slot per call
    cost the SQLite Prefect server two writes per call, with 2 s stalls when it was busy). Without the limit (no
    `nexora setup` yet) Prefect lets the call through; the embedded sample takes no slot."""
    if SOURCE.get() != "pncp":
        return items_and_results(cnpj, ano, sequencial, with_results)
    # a short lease (the server's minimum, 60 s): a run killed mid-fetch frees its slots within a minute, not
    # after Prefect's default 300 s (live holders renew theirs)
    with concurrency(DETAIL_LIMIT, occupy=1, strict=False, lease_duration=60):
        return items_and_results(cnpj, ano, sequencial, with_results)


@task(name="pncp-checkpoint", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def read_checkpoint(
    endpoint: str, modalidade: int | None, uf: str | None, start: date, end: date, restart: bool = False
) -> dict[str, Any]:
    with session_scope() as session:
        row = market.checkpoint(session, endpoint, modalidade, uf, start, end)
        if restart:
            row.last_page, row.done = 0, False
            session.add(row)
        return {"key": row.slice_key, "last_page": row.last_page, "done": row.done}


@task(name="pncp-store-page", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def store_page(
    key: str,
    page: int,
    total_pages: int | None,
    done: bool,
    contratacoes: list[dict[str, Any]],
    itens: list[dict[str, Any]],
    resultados: list[dict[str, Any]],
    quarantined: list[dict[str, Any]],
    flow_run_id: str | None,
    details: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Upsert the page's records, quarantine the bad ones, open or close detail gaps (``details``: ``source``,
    ``failed``, ``stored``) and advance the checkpoint, in one transaction."""
    with session_scope() as session:
        counts = store_records(session, contratacoes, itens, resultados, quarantined, flow_run_id)
        if details:
            counts.update(store_gaps(session, details, flow_run_id))
        market.advance(session, key, page, total_pages, done)
    return counts


@task(name="pncp-detail-gaps-due", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def read_due_gaps(source: str, modalidades: list[int] | None, ufs: list[str] | None, limit: int) -> list[dict]:
    with session_scope() as session:
        return detail_gaps.due(session, source, modalidades, ufs, limit)


@task(name="pncp-store-details", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def store_details(
    itens: list[dict[str, Any]],
    resultados: list[dict[str, Any]],
    quarantined: list[dict[str, Any]],
    details: dict[str, Any],
    flow_run_id: str | None,
) -> dict[str, int]:
    """Store the items and results a new attempt got and close or re-judge its gaps, in one transaction."""
    with session_scope() as session:
        counts = store_records(session, [], itens, resultados, quarantined, flow_run_id)
        counts.update(store_gaps(session, details, flow_run_id))
    return counts
