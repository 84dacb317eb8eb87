"""Tasks of collect-pncp-documents: list a contratação's files, download one, store its outcome.

The PNCP calls go through the run's PncpClient with the collection's retry policy (``with_retries``: 429, 5xx,
time-outs retried with back-off; 404 and the like not) and, like the items of collect-pncp, hold a slot of the
global limit ``pncp-detalhe`` while they run (the arquivos endpoints are on the same detail API). A file is
extracted, its CPFs masked and its sections stored with its row in one transaction: the row is the file's
checkpoint.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency

from core.limits import DETAIL_LIMIT
from core.settings import settings
from models.crud import pncp_documents as library
from models.db import session_scope
from tasks.pncp.client import FileTooBig, PncpClient, PncpError
from tasks.pncp.documents import ExtractionError, extract, kind_by_title, mask_cpfs, select_files, split_sections
from tasks.pncp.tasks import with_retries
from tasks.retry import DB_RETRIES


def _paced(client: PncpClient, call, *args):
    if not client.paced:
        return call(*args)
    with concurrency(DETAIL_LIMIT, occupy=1, strict=False, lease_duration=60):
        return call(*args)


@task(name="pncp-arquivos", cache_policy=NO_CACHE, persist_result=False)
def list_files(client: PncpClient, cnpj: str, ano: int, sequencial: int) -> list[Any]:
    return _paced(client, client.files, cnpj, ano, sequencial)


@task(name="pncp-arquivo", cache_policy=NO_CACHE, persist_result=False)
def download_file(client: PncpClient, cnpj: str, ano: int, sequencial: int, number: int) -> bytes:
    return _paced(client, client.download, cnpj, ano, sequencial, number, settings.PNCP_DOCUMENT_MAX_BYTES)


@task(name="pncp-contratacoes-sem-arquivos", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def read_pending(limit: int, start, end, ufs: list[str] | None) -> list[dict[str, Any]]:
    with session_scope() as session:
        return library.pending_contratacoes(session, limit, start, end, ufs)


@task(name="pncp-arquivos-conhecidos", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def read_known(cnpj: str, ano: int, sequencial: int) -> set[int]:
    with session_scope() as session:
        return library.known_files(session, cnpj, ano, sequencial)


@task(name="pncp-guardar-arquivo", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def store_file(document: dict[str, Any], sections: list[dict[str, Any]]) -> int:
    with session_scope() as session:
        return library.store_document(session, document, sections).id or 0


@task(name="pncp-contratacao-listada", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def store_listed(numero_controle: str, published) -> None:
    with session_scope() as session:
        library.mark_listed(session, numero_controle, published)


def _published(entry: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(entry["dataPublicacaoPncp"]))
    except (KeyError, ValueError):
        return None


def index_file(data: bytes, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A downloaded file's outcome (row fields) and sections: extracted, CPFs masked, cut at its headings."""
    outcome: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    try:
        got = extract(data, kind=kind)
    except ExtractionError as exc:
        return {**outcome, "status": exc.status, "error": exc.reason}, []
    outcome |= {"pages": len(got.pages) + got.scanned_pages, "scanned_pages": got.scanned_pages}
    if kind == "zip" and not got.members:
        return {**outcome, "status": "no_match", "error": "edital/anexo que não é ZIP com ETP ou TR"}, []
    masked, count = mask_cpfs(got.text)
    outcome["cpfs_masked"] = count
    if not masked.strip():
        return {
            **outcome,
            "status": "no_text",
            "error": f"{got.scanned_pages} página(s) digitalizada(s), sem texto",
        }, []
    section_kind = kind if kind in ("etp", "tr") else next((k for k in map(kind_by_title, got.members) if k), "tr")
    sections = [
        {"position": s.order, "heading": s.heading, "element": s.element, "text": s.text}
        for s in split_sections(masked, section_kind)
    ]
    return {**outcome, "status": "indexed", "tipo": section_kind}, sections


def _contratacao_run_name() -> str:
    from prefect.runtime import task_run

    return f"arquivos {task_run.parameters['row']['numero_controle_pncp']}"


@task(
    name="pncp-documentos-contratacao", cache_policy=NO_CACHE, persist_result=False, task_run_name=_contratacao_run_name
)
def collect_contratacao(client: PncpClient, row: dict[str, Any], run_id: str | None) -> Counter[str]:
    """Every ETP/TR file of one contratação not stored yet; the contratação marked listed when none is left for a
    later run (a file PNCP kept failing stays for the next one)."""
    totals: Counter[str] = Counter()
    cnpj, ano, sequencial = row["cnpj"], row["ano"], row["sequencial"]
    try:
        listing = with_retries(list_files)(client, cnpj, ano, sequencial)
    except PncpError as exc:
        if exc.status == 404:  # not (or no longer) on PNCP: nothing to list
            store_listed(row["numero_controle_pncp"], row["published"])
            totals["contratacoes_not_found"] += 1
            return totals
        totals["listings_failed"] += 1
        return totals
    totals["contratacoes_listed"] += 1
    wanted = select_files(listing)
    known = read_known(cnpj, ano, sequencial)
    left = 0
    for entry in wanted:
        number = entry["sequencialDocumento"]
        if number in known:
            totals["files_skipped"] += 1
            continue
        document = {
            "numero_controle_pncp": row["numero_controle_pncp"],
            "cnpj": cnpj,
            "ano": ano,
            "sequencial": sequencial,
            "sequencial_documento": number,
            "tipo": entry["kind"],
            "tipo_documento_id": entry.get("tipoDocumentoId"),
            "tipo_documento_nome": (entry.get("tipoDocumentoNome") or "")[:120] or None,
            "titulo": (entry.get("titulo") or "")[:500],
            "url": (entry.get("url") or entry.get("uri") or "")[:1000],
            "uf": row["uf"],
            "published_at": _published(entry),
            "flow_run_id": run_id,
        }
        try:
            data = with_retries(download_file)(client, cnpj, ano, sequencial, number)
        except FileTooBig as exc:
            outcome, sections = {"status": "too_big", "error": str(exc)}, []
        except PncpError as exc:
            if exc.retryable:  # PNCP kept failing after the retries: the next run tries this file again
                totals["files_failed_transient"] += 1
                left += 1
                continue
            status = "not_found" if exc.status == 404 else "failed"
            outcome, sections = {"status": status, "error": str(exc)[:1000]}, []
        else:
            outcome, sections = index_file(data, entry["kind"])
        store_file(document | outcome, sections)
        totals[f"files_{outcome['status']}"] += 1
        totals["sections"] += len(sections)
        totals["scanned_pages"] += outcome.get("scanned_pages", 0)
    if not left:
        store_listed(row["numero_controle_pncp"], row["published"])
    return totals
