"""collect-pncp: keep the local market tables current from PNCP — contratações, their items and results.

The work is cut in slices (endpoint × modalidade × UF × window of at most 365 days). Each slice resumes from its
checkpoint; each page is stored with its items and results and the checkpoint advanced in one transaction, so a
killed run resumes where it stopped, with no duplicates (upserts on the natural keys) and no gap. Records that
fail validation go to the quarantine and the run goes on. A slice the server refuses (400/422) or that keeps
failing after the retries is reported, and the run ends Failed naming it; the others are stored.

A window the operation cannot mean (tasks/pncp/window.py: after today, before PNCP existed, over 31 days) fails the
run before it takes any PNCP limit or makes any call. A contratação whose items or results could not be fetched is
recorded as a detail gap; every later run (with items, same source, its modalidades and UFs) tries the gaps that are
due again, whatever its window, until they are stored or given up (models/crud/detail_gaps.py).
"""

from __future__ import annotations

import contextvars
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from core.settings import settings
from flows._identity import run_identity
from tasks import run_logger
from tasks.pncp import parse
from tasks.pncp.client import SOURCE, STATS, ensure_limits
from tasks.pncp.params import (
    MODALIDADES,
    CollectParams,
    Endpoint,
    FlowEnd,
    FlowStart,
    Modalidades,
    Restart,
    Source,
    Ufs,
    WithItems,
    WithResults,
    described_by,
    normal_modalidades,
    normal_ufs,
)
from tasks.pncp.tasks import (
    fetch_items,
    fetch_page,
    read_checkpoint,
    read_due_gaps,
    store_details,
    store_page,
    with_retries,
)
from tasks.pncp.window import check_window


class CollectionFailed(RuntimeError):
    """Some slices could not be collected; what was collected is stored and the checkpoints say where to resume."""


def windows(start: date, end: date, days: int = 365) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive windows of at most ``days`` days (the API refuses longer ones)."""
    if end < start:
        raise ValueError(f"janela inválida: {start} > {end}")
    out, cursor = [], start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=days - 1))
        out.append((cursor, last))
        cursor = last + timedelta(days=1)
    return out


def _parse_page(records: list[Any], source: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, bad, seen = [], [], set()
    for raw in records:
        try:
            row = parse.contratacao(raw)
        except parse.RecordError as exc:
            key = raw.get("numeroControlePNCP") if isinstance(raw, dict) else None
            bad.append({"kind": "contratacao", "source": source, "reason": str(exc), "raw": raw, "key": key})
            continue
        if row["numero_controle_pncp"] not in seen:
            seen.add(row["numero_controle_pncp"])
            rows.append(row)
    return rows, bad


def _parse_details(parent: dict[str, Any], details: dict[str, Any], source: str):
    items, results, bad = [], [], []
    for raw in details["items"]:
        try:
            row = parse.item(raw, parent)
        except parse.RecordError as exc:
            bad.append(
                {
                    "kind": "item",
                    "source": source,
                    "reason": str(exc),
                    "raw": raw,
                    "key": parent["numero_controle_pncp"],
                }
            )
            continue
        items.append(row)
        for raw_result in details["results"].get(row["numero_item"], []):
            try:
                results.append(parse.resultado(raw_result, row))
            except parse.RecordError as exc:
                bad.append(
                    {
                        "kind": "resultado",
                        "source": f"{source}/itens/{row['numero_item']}/resultados",
                        "reason": str(exc),
                        "raw": parse.without_person(raw_result),
                        "key": f"{parent['numero_controle_pncp']}#{row['numero_item']}",
                    }
                )
    return items, results, bad


def _gather_details(parents: list[dict[str, Any]], with_results: bool | None) -> dict[str, Any]:
    """The items and results of each contratação (``parents``: rows with their keys), fetched side by side with the
    PNCP retry policy: what was got, parsed, and what failed after the retries (a detail gap each)."""
    items_task = with_retries(fetch_items)
    futures = [
        (
            row,
            items_task.submit(
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
        got_items, got_results, got_bad = _parse_details(row, future.result(), path)
        out["items"] += got_items
        out["results"] += got_results
        out["bad"] += got_bad
        out["stored"].append(row["numero_controle_pncp"])
    return out


def _http_status(state) -> int | None:
    """The HTTP status a failed detail fetch ended with (404: not in PNCP), None for time-outs and the like."""
    try:
        return getattr(state.result(raise_on_failure=False), "status", None)
    except Exception:  # noqa: BLE001 - the result may be gone; the message still says what happened
        return None


def collect_slice(
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
    totals: Counter[str] = Counter()
    label = endpoint if SOURCE.get() == "pncp" else f"{SOURCE.get()}:{endpoint}"  # the sample's own checkpoints
    point = read_checkpoint(label, modalidade, uf, start, end, restart)
    if point["done"]:
        totals["slices_skipped"] += 1
        return totals
    page_task = with_retries(fetch_page)
    number = max(1, point["last_page"])  # the last stored page again: records that moved a page are not missed
    while True:
        page = page_task(endpoint, start, end, number, modalidade, uf)
        source = f"{endpoint}?{start:%Y%m%d}-{end:%Y%m%d}&modalidade={modalidade}&uf={uf or ''}&pagina={number}"
        rows, bad = _parse_page(page.records, source)
        items: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        details = None
        if with_items and rows:
            got = _gather_details(rows, with_results)
            items, results = got["items"], got["results"]
            bad += got["bad"] + [
                {"kind": "itens", "source": f["path"], "key": f["key"], "reason": f["reason"], "raw": ""}
                for f in got["failed"]
            ]
            totals["detail_failures"] += len(got["failed"])
            details = {"source": SOURCE.get(), "failed": got["failed"], "stored": got["stored"]}
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


def retry_detail_gaps(
    source: str, modalidades: list[int] | None, ufs: list[str] | None, run_id: str | None
) -> Counter[str]:
    """Fetch again the items and results of the contratações whose earlier attempts failed and are due now (at
    most PNCP_DETAIL_GAP_BATCH), a page's worth at a time, each stored in one transaction with its gaps' outcome."""
    totals: Counter[str] = Counter()
    due = read_due_gaps(source, modalidades, ufs, settings.PNCP_DETAIL_GAP_BATCH)
    for first in range(0, len(due), settings.PNCP_PAGE_SIZE):
        chunk = due[first : first + settings.PNCP_PAGE_SIZE]
        got = _gather_details(chunk, None)
        details = {"source": source, "failed": got["failed"], "stored": got["stored"]}
        totals.update(store_details(got["items"], got["results"], got["bad"], details, run_id))
        totals["detail_gaps_retried"] += len(chunk)
    return totals


@flow(
    name="collect-pncp",
    task_runner=ThreadPoolTaskRunner(max_workers=settings.PNCP_DETAIL_CONCURRENCY),
    persist_result=True,
    result_serializer="json",
)
@described_by(CollectParams)
def collect_pncp(
    start: FlowStart = None,
    end: FlowEnd = None,
    modalidades: Modalidades = None,
    ufs: Ufs = None,
    endpoint: Endpoint = "contratacoes/publicacao",
    with_items: WithItems = True,
    with_results: WithResults = True,
    restart: Restart = False,
    source: Source = "pncp",
) -> dict[str, Any]:
    """Collect [start, end] (default: yesterday and today, Brasília) for the modalidades (default: all) and UFs
    (default: all at once); ``restart`` collects slices already done again. ``source="amostra"`` collects the
    embedded sample of real awarded prices (no network) instead of PNCP_BASE_URL, through the same code (default
    window: the whole sample). Then the detail gaps that are due are tried again."""
    start, end = check_window(start, end, source)  # first: a bad window fails here, before any limit or call
    modalidades, ufs = normal_modalidades(modalidades), normal_ufs(ufs)
    SOURCE.set(source)
    run_id, _ = run_identity()
    if source == "pncp":
        ensure_limits()
    before = dict(STATS.counts)
    totals: Counter[str] = Counter()
    failed: list[str] = []
    problems: list[str] = []
    slices = [
        (window_start, window_end, modalidade, uf)
        for window_start, window_end in windows(start, end)
        for modalidade in modalidades or MODALIDADES
        for uf in ufs or [None]
    ]

    def one(window_start: date, window_end: date, modalidade: int, uf: str | None) -> Counter[str]:
        return collect_slice(
            endpoint,
            window_start,
            window_end,
            modalidade,
            uf,
            with_items=with_items,
            with_results=with_results,
            restart=restart,
            run_id=run_id,
        )

    # slices side by side, each in order: the shared rate limit, not one slice's items, paces the consulta API
    with ThreadPoolExecutor(max_workers=settings.PNCP_SLICE_CONCURRENCY, thread_name_prefix="pncp-slice") as pool:
        futures = [(piece, pool.submit(contextvars.copy_context().run, one, *piece)) for piece in slices]
        for (window_start, window_end, modalidade, uf), future in futures:
            try:
                totals.update(future.result())
            except Exception as exc:  # noqa: BLE001 - one slice failing must not stop the others
                failed.append(
                    f"{endpoint} {window_start:%Y-%m-%d}..{window_end:%Y-%m-%d} modalidade "
                    f"{modalidade}{' UF ' + uf if uf else ''}: {exc}"
                )
    if with_items:
        try:
            totals.update(retry_detail_gaps(source, modalidades, ufs, run_id))
        except Exception as exc:  # noqa: BLE001 - the slices are stored; the gaps stay due for the next run
            problems.append(f"novas tentativas de itens/resultados pendentes interrompidas (seguem pendentes): {exc}")
    calls = {key: STATS.counts[key] - before.get(key, 0) for key in STATS.counts}
    summary = {
        "pages": totals["pages"],
        "records_fetched": totals["records_fetched"],
        **{key: totals[key] for key in sorted(totals) if key.split("_")[0] in ("contratacoes", "itens", "resultados")},
        "quarantined": totals["quarantined"],
        "detail_failures": totals["detail_failures"],
        **{
            key: totals[key]
            for key in ("detail_gaps_retried", "detail_gaps_filled", "detail_gaps_pending", "detail_gaps_discarded")
        },
        "slices_done": totals["slices_done"],
        "slices_skipped": totals["slices_skipped"],
        "slices_failed": len(failed),
        "requests": calls.get("requests", 0),
        "retries_429": calls.get("throttled", 0),
        "server_errors": calls.get("server_errors", 0),
        "timeouts": calls.get("timeouts", 0),
        "malformed": calls.get("malformed", 0),
    }
    create_table_artifact(
        key="pncp-collection",
        table=[{"medida": k, "valor": v} for k, v in summary.items()],
        description=f"Coleta PNCP {start:%d/%m/%Y}–{end:%d/%m/%Y} ({endpoint}"
        + (", amostra embutida)" if source == "amostra" else ")"),
    )
    run_logger().info("coleta PNCP: %s", summary)
    if failed:
        problems.insert(
            0,
            f"{len(failed)} fatia(s) não coletada(s) (retomadas do checkpoint na próxima execução): "
            + "; ".join(failed[:10]),
        )
    if problems:
        raise CollectionFailed(" | ".join(problems))
    return summary
