"""Tasks of collect-pncp.

- ``collect_slice``: one slice (endpoint × modalidade × UF × window), page after page from its checkpoint; the flow
  runs slices side by side on a task runner of their own, so each is a task run in the UI, retried once from its
  checkpoint when PNCP kept failing.
- PNCP calls: one consulta page, the items and results of one contratação, retried by the PNCP policy
  (``with_retries``); a slice's detail calls go to the flow's task runner (PNCP_DETAIL_CONCURRENCY threads).
- Database: read a slice's checkpoint; store one page (records, quarantine, detail gaps, checkpoint) in one
  transaction, so a page is either stored with its checkpoint or not at all; read the detail gaps due for another
  attempt and store what that attempt got.

Every PNCP task takes the run's ``PncpClient`` (tasks/pncp/client.py) as its first argument."""

from __future__ import annotations

from collections import Counter
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
from tasks.pncp.client import Page, PncpClient, PncpError
from tasks.pncp.parse import detail_rows, page_rows
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
    client: PncpClient,
    endpoint: str,
    start: date,
    end: date,
    page: int,
    modalidade: int | None = None,
    uf: str | None = None,
) -> Page:
    return client.consulta_page(endpoint, start, end, page, modalidade, uf)


@task(name="pncp-itens", cache_policy=NO_CACHE, persist_result=False)
def fetch_items(client: PncpClient, cnpj: str, ano: int, sequencial: int, with_results: bool) -> dict[str, Any]:
    """Every item of a compra (all pages) and, if asked, each item's results.

    The detail API's concurrency is bounded by the flow's thread pool (PNCP_DETAIL_CONCURRENCY workers) and, across
    runs and workers, by the global limit ``pncp-detalhe``: one slot per contratação, not per call (a slot per call
    cost the SQLite Prefect server two writes per call, with 2 s stalls when it was busy). Without the limit (no
    `nexora setup` yet) Prefect lets the call through; the embedded sample takes no slot."""
    if not client.paced:
        return client.items_and_results(cnpj, ano, sequencial, with_results)
    # a short lease (the server's minimum, 60 s): a run killed mid-fetch frees its slots within a minute, not
    # after Prefect's default 300 s (live holders renew theirs)
    with concurrency(DETAIL_LIMIT, occupy=1, strict=False, lease_duration=60):
        return client.items_and_results(cnpj, ano, sequencial, with_results)


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


def gather_details(client: PncpClient, parents: list[dict[str, Any]], with_results: bool | None) -> dict[str, Any]:
    """The items and results of each contratação (``parents``: rows with their keys), fetched side by side on the
    flow's task runner with the PNCP retry policy: what was got, parsed, and what failed after the retries (a detail
    gap each). ``with_results=None``: as each row says (a detail gap remembers what its run asked for)."""
    items_task = with_retries(fetch_items)
    futures = [
        (
            row,
            items_task.submit(
                client,
                row["cnpj_orgao"],
                row["ano_compra"],
                row["sequencial_compra"],
                row["with_results"] if with_results is None else with_results,
            ),
        )
        for row in parents
    ]
    out: dict[str, Any] = {"items": [], "results": [], "bad": [], "failed": [], "stored": []}
    for row, future in futures:
        path = f"orgaos/{row['cnpj_orgao']}/compras/{row['ano_compra']}/{row['sequencial_compra']}"
        future.wait()
        if not future.state.is_completed():
            out["failed"].append(
                {
                    "key": row["numero_controle_pncp"],
                    "reason": f"itens não obtidos: {future.state.message}",
                    "status": _http_status(future.state),
                    "with_results": row["with_results"] if with_results is None else with_results,
                    "path": path,
                }
            )
            continue
        got_items, got_results, got_bad = detail_rows(row, future.result(), path)
        out["items"] += got_items
        out["results"] += got_results
        out["bad"] += got_bad
        out["stored"].append(row["numero_controle_pncp"])
    return out


def _http_status(state: Any) -> int | None:
    """The HTTP status a failed detail fetch ended with (404: not in PNCP), None for time-outs and the like."""
    try:
        return getattr(state.result(raise_on_failure=False), "status", None)
    except Exception:  # noqa: BLE001 - the result may be gone; the message still says what happened
        return None


def _slice_retry_options() -> dict[str, Any]:
    """A slice PNCP kept failing after its calls' own retries is tried once more, from its checkpoint, after the
    longest back-off of those retries; a refusal (400/422) or a database fault the store already retried: no."""
    return {
        "retries": 1,
        "retry_delay_seconds": settings.PNCP_RETRY_BASE_SECONDS * 2 ** (settings.PNCP_RETRIES + 1),
        "retry_condition_fn": retry_on(PncpError, when=declared_retryable),
    }


def _slice_run_name() -> str:
    """A slice's task run, named as an operator reads it in the UI: endpoint, window, modalidade, UF."""
    from prefect.runtime import task_run

    p = task_run.parameters
    where = f" UF {p['uf']}" if p.get("uf") else ""
    return f"{p['endpoint']} {p['start']:%d/%m/%Y}–{p['end']:%d/%m/%Y} modalidade {p['modalidade']}{where}"


@task(name="pncp-fatia", cache_policy=NO_CACHE, persist_result=False, task_run_name=_slice_run_name)
def collect_slice(
    client: PncpClient,
    endpoint: str,
    start: date,
    end: date,
    modalidade: int | None,
    uf: str | None,
    *,
    with_items: bool,
    with_results: bool,
    restart: bool,
    run_id: str | None,
) -> Counter[str]:
    """Collect one slice from its checkpoint: each page with its items and results, stored with the checkpoint in
    one transaction; the last stored page is read again (records that moved a page are not missed)."""
    totals: Counter[str] = Counter()
    point = read_checkpoint(client.checkpoint_label(endpoint), modalidade, uf, start, end, restart)
    if point["done"]:
        totals["slices_skipped"] += 1
        return totals
    page_task = with_retries(fetch_page)
    number = max(1, point["last_page"])
    while True:
        page = page_task(client, endpoint, start, end, number, modalidade, uf)
        source = f"{endpoint}?{start:%Y%m%d}-{end:%Y%m%d}&modalidade={modalidade}&uf={uf or ''}&pagina={number}"
        rows, bad = page_rows(page.records, source)
        items: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        details = None
        if with_items and rows:
            got = gather_details(client, rows, with_results)
            items, results = got["items"], got["results"]
            bad += got["bad"] + [
                {"kind": "itens", "source": f["path"], "key": f["key"], "reason": f["reason"], "raw": ""}
                for f in got["failed"]
            ]
            totals["detail_failures"] += len(got["failed"])
            details = {"source": client.source, "failed": got["failed"], "stored": got["stored"]}
        stored = store_page(
            point["key"], number, page.total_pages, page.last, rows, items, results, bad, run_id, details
        )
        totals.update(stored)
        totals["pages"] += 1
        totals["records_fetched"] += len(page.records)
        if page.last:
            totals["slices_done"] += 1
            return totals
        number += 1


def with_slice_retries(fn):
    """The slice task with the slice retry policy of the current settings."""
    return fn.with_options(**_slice_retry_options())


def retry_detail_gaps(
    client: PncpClient, modalidades: list[int] | None, ufs: list[str] | None, run_id: str | None
) -> Counter[str]:
    """Fetch again the items and results of the contratações whose earlier attempts failed and are due now (at
    most PNCP_DETAIL_GAP_BATCH), a page's worth at a time, each stored in one transaction with its gaps' outcome."""
    totals: Counter[str] = Counter()
    due = read_due_gaps(client.source, modalidades, ufs, settings.PNCP_DETAIL_GAP_BATCH)
    for first in range(0, len(due), settings.PNCP_PAGE_SIZE):
        chunk = due[first : first + settings.PNCP_PAGE_SIZE]
        got = gather_details(client, chunk, None)
        details = {"source": client.source, "failed": got["failed"], "stored": got["stored"]}
        totals.update(store_details(got["items"], got["results"], got["bad"], details, run_id))
        totals["detail_gaps_retried"] += len(chunk)
    return totals
