"""collect-pncp-documents: the library of other bodies' ETPs and TRs, from the files PNCP publishes with each
contratação collected by collect-pncp.

For the collected contratações whose files are not listed yet (newest publication first, at most
PNCP_DOCUMENTS_BATCH a run; those of a window and UFs when given) it lists the files, takes the ETPs (type 7), TRs
(type 4), files of other types whose title names one, and editais/annexes that are zips with one inside; downloads
each under PNCP_DOCUMENT_MAX_BYTES, extracts its text (PDF, DOCX, zip members under caps), masks CPFs and stores it
cut into sections with a full-text index (tasks/pncp/documents.py). Politeness is collect-pncp's: the same client,
retry policy and the ``pncp-detalhe`` concurrency limit, on PNCP_DETAIL_CONCURRENCY threads.

Resumable: a file's row is its checkpoint and a contratação whose files were all dealt with gets a checkpoint of its
own, so a rerun fetches nothing again and a run killed mid-way loses at most the file in flight. A file that fails
for good (404, corrupt, encrypted, too big, scanned) is recorded with the reason and counted; it does not fail the
run. A listing or file PNCP kept refusing with 429/5xx after the retries is left for the next run, and the run ends
Failed saying how many.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from core.settings import settings
from flows._identity import run_identity
from tasks import run_logger
from tasks.params import described_by
from tasks.pncp.client import PncpClient, ensure_limits
from tasks.pncp.document_tasks import collect_contratacao, read_pending
from tasks.pncp.params import DocumentsParams, FlowEnd, FlowStart, Ufs, normal_ufs

Limit = Annotated[
    int | None,
    Field(ge=1, le=10000, description="no máximo quantas contratações listar (padrão: PNCP_DOCUMENTS_BATCH)"),
]


class DocumentCollectionFailed(RuntimeError):
    """PNCP kept failing for some listings or files: what was fetched is stored; the rest is tried next run."""


@flow(
    name="collect-pncp-documents",
    task_runner=ThreadPoolTaskRunner(max_workers=settings.PNCP_DETAIL_CONCURRENCY),
    persist_result=True,
    result_serializer="json",
)
@described_by(DocumentsParams)
def collect_pncp_documents(
    start: FlowStart = None, end: FlowEnd = None, ufs: Ufs = None, limit: Limit = None
) -> dict[str, Any]:
    """List and index the ETP/TR files of collected contratações not listed yet (published in [start, end] and in
    ``ufs`` when given), newest first, at most ``limit``."""
    if start and end and start > end:
        raise ValueError("a data inicial é posterior à final")
    ufs = normal_ufs(ufs)
    run_id, _ = run_identity()
    ensure_limits()
    pending = read_pending(limit or settings.PNCP_DOCUMENTS_BATCH, start, end, ufs)
    totals: Counter[str] = Counter()
    with PncpClient("pncp") as client:
        futures = [collect_contratacao.submit(client, row, run_id) for row in pending]
        crashed = []
        for row, future in zip(pending, futures, strict=True):
            outcome = future.result(raise_on_failure=False)
            if future.state.is_completed():
                totals.update(outcome)
            else:
                crashed.append(f"{row['numero_controle_pncp']}: {future.state.message}")
        calls = dict(client.stats.counts)
    files = {k: v for k, v in sorted(totals.items()) if k.startswith("files_")}
    summary = {
        "contratacoes": len(pending),
        "contratacoes_listed": totals["contratacoes_listed"],
        "contratacoes_not_found": totals["contratacoes_not_found"],
        "listings_failed": totals["listings_failed"] + len(crashed),
        **files,
        "sections": totals["sections"],
        "scanned_pages": totals["scanned_pages"],
        "requests": calls.get("requests", 0),
        "downloaded_bytes": calls.get("downloaded_bytes", 0),
        "retries_429": calls.get("throttled", 0),
        "server_errors": calls.get("server_errors", 0),
    }
    create_table_artifact(
        key="pncp-documents",
        table=[{"medida": k, "valor": v} for k, v in summary.items()],
        description="Biblioteca de ETPs/TRs do PNCP" + (f" ({start:%d/%m/%Y}–{end:%d/%m/%Y})" if start and end else ""),
    )
    run_logger().info("biblioteca PNCP: %s", summary)
    left = summary["listings_failed"] + totals["files_failed_transient"]
    if left:
        raise DocumentCollectionFailed(
            f"{left} listagem(ns) ou arquivo(s) não obtido(s) do PNCP após as novas tentativas (tentados de novo na "
            "próxima execução)" + ("; " + "; ".join(crashed[:5]) if crashed else "")
        )
    return summary
