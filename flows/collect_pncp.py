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

from collections import Counter
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from core.settings import settings
from flows._identity import run_identity
from tasks import run_logger
from tasks.params import described_by
from tasks.pncp.client import PncpClient, ensure_limits
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
    normal_modalidades,
    normal_ufs,
)
from tasks.pncp.tasks import collect_slice, retry_detail_gaps, with_slice_retries
from tasks.pncp.window import check_window, windows


class CollectionFailed(RuntimeError):
    """Some slices could not be collected; what was collected is stored and the checkpoints say where to resume."""


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
    run_id, _ = run_identity()
    if source == "pncp":
        ensure_limits()
    totals: Counter[str] = Counter()
    failed: list[str] = []
    problems: list[str] = []
    slices = [
        (window_start, window_end, modalidade, uf)
        for window_start, window_end in windows(start, end)
        for modalidade in modalidades or MODALIDADES
        for uf in ufs or [None]
    ]
    slice_task = with_slice_retries(collect_slice)
    with PncpClient(source) as client:
        # slices side by side on a runner of their own (their detail calls go to the flow's runner, so a slice
        # waiting for its details never holds the thread they need); the shared rate limit paces the consulta API
        with ThreadPoolTaskRunner(max_workers=settings.PNCP_SLICE_CONCURRENCY) as slice_runner:
            futures = [
                (
                    piece,
                    slice_runner.submit(
                        slice_task,
                        {
                            "client": client,
                            "endpoint": endpoint,
                            "start": piece[0],
                            "end": piece[1],
                            "modalidade": piece[2],
                            "uf": piece[3],
                            "with_items": with_items,
                            "with_results": with_results,
                            "restart": restart,
                            "run_id": run_id,
                        },
                    ),
                )
                for piece in slices
            ]
            for (window_start, window_end, modalidade, uf), future in futures:
                outcome = future.result(raise_on_failure=False)
                if future.state.is_completed():
                    totals.update(outcome)
                else:  # one slice failing does not stop the others; its checkpoint says where to resume
                    failed.append(
                        f"{endpoint} {window_start:%Y-%m-%d}..{window_end:%Y-%m-%d} modalidade "
                        f"{modalidade}{' UF ' + uf if uf else ''}: {outcome or future.state.message}"
                    )
        if with_items:
            try:
                totals.update(retry_detail_gaps(client, modalidades, ufs, run_id))
            except Exception as exc:  # noqa: BLE001 - the slices are stored; the gaps stay due for the next run
                problems.append(
                    f"novas tentativas de itens/resultados pendentes interrompidas (seguem pendentes): {exc}"
                )
        calls = dict(client.stats.counts)
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
