"""Tasks of publish-pncp: what to send (database), the file's bytes (storage), sending it exactly once (PNCP and
the registry), removing what a newer version replaces, and the publicado status with its event.

Exactly once: before a request the file's row is recorded ``enviando``; every attempt (a retry, a rerun) first lists
the contratação's files on PNCP and adopts one whose title carries the file's marker (``sha256:…``) instead of
sending it again — an answer lost after PNCP stored the file costs nothing. Retried (Prefect task retries, back-off
PNCP_PUBLISH_RETRY_SECONDS × 1, 2, 4 …): 429, 5xx, time-outs and lost connections; never 400/422.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from core.settings import settings
from models.crud import publications
from models.db import session_scope
from models.pncp_rules import TIPOS, marker
from models.publication import PublicationStatus
from tasks import run_logger
from tasks.pncp.client import PncpError
from tasks.pncp.integration import PncpIntegration
from tasks.retry import DB_RETRIES, declared_retryable, retry_on
from tasks.storage.store import store_for_uri


def _retry_options() -> dict[str, Any]:
    """The publication's retry policy, read from the settings when the run submits the calls."""
    base = settings.PNCP_PUBLISH_RETRY_SECONDS
    return {
        "retries": settings.PNCP_PUBLISH_RETRIES,
        "retry_delay_seconds": [base * 2**n for n in range(max(settings.PNCP_PUBLISH_RETRIES, 1))],
        "retry_jitter_factor": 0.2,
        "retry_condition_fn": retry_on(PncpError, when=declared_retryable),
    }


def with_retries(fn):
    return fn.with_options(**_retry_options())


@task(name="load-publication-plan", **DB_RETRIES)
def load_publication_plan(document_id: uuid.UUID) -> dict[str, Any]:
    with session_scope() as session:
        return publications.publication_plan(session, document_id)


@task(name="read-artifact", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=[1, 5])
def read_artifact(file: dict[str, Any]) -> bytes:
    """The stored file, checked against the hash the registry holds."""
    handle = store_for_uri(file["storage_uri"]).open(file["key"])
    try:
        data = handle.read()
    finally:
        handle.close()
    if hashlib.sha256(data).hexdigest() != file["sha256"]:
        raise RuntimeError(f"o arquivo {file['key']} no armazenamento não confere com o hash registrado")
    return data


def _adoptable(listed: list[dict[str, Any]], file: dict[str, Any]) -> dict[str, Any] | None:
    """A file on PNCP that is this one: same type, active, its title carrying this file's marker."""
    for entry in listed:
        if entry.get("statusAtivo") is False or int(entry.get("tipoDocumentoId") or 0) != file["tipo"]:
            continue
        if marker(file["sha256"]) in str(entry.get("titulo") or ""):
            return entry
    return None


@task(name="pncp-publish-file", cache_policy=NO_CACHE, persist_result=False)
def publish_file(
    client: PncpIntegration,
    document_id: uuid.UUID,
    version: int,
    contratacao: tuple[str, int, int],
    file: dict[str, Any],
    pdf: bytes,
    requested_by: str | None,
    flow_run_id: str | None,
) -> dict[str, Any]:
    """Attach one file to the contratação once: already publicado → nothing sent; on PNCP already (a lost answer)
    → adopted; otherwise sent, and the row marked publicado with PNCP's URL."""
    logger = run_logger()
    cnpj, ano, sequencial = contratacao
    with session_scope() as session:
        row = publications.begin(session, document_id, version, contratacao, file, requested_by, flow_run_id)
        row_id, status, url, number = row.id, row.status, row.url, row.sequencial_documento
    what = f"{TIPOS[file['tipo']]} (tipo {file['tipo']})"
    outcome = {"tipo_documento_id": file["tipo"], "sha256": file["sha256"], "titulo": file["titulo"]}
    if status == PublicationStatus.PUBLICADO:
        logger.info("%s already published on %s/%s/%s: %s", what, cnpj, ano, sequencial, url)
        return {**outcome, "url": url, "sequencial_documento": number, "action": "ja_publicado"}
    found = _adoptable(client.list_files(cnpj, ano, sequencial), file)
    if found is not None:
        url = str(found.get("url") or found.get("uri") or "")
        number = int(found["sequencialDocumento"])
        action = "adotado"
        logger.info("%s found on PNCP as file %s (an earlier answer was lost): adopted", what, number)
    else:
        filename = f"{file['tipo']}-{file['sha256'][:12]}.pdf"
        url, number = client.attach(cnpj, ano, sequencial, pdf, file["titulo"], file["tipo"], filename)
        action = "enviado"
        logger.info("%s attached to %s/%s/%s as file %s", what, cnpj, ano, sequencial, number)
    with session_scope() as session:
        publications.mark_published(session, row_id, url, number)
    return {**outcome, "url": url, "sequencial_documento": number, "action": action}


@task(name="pncp-remove-superseded", cache_policy=NO_CACHE, persist_result=False)
def remove_superseded(
    client: PncpIntegration,
    document: dict[str, Any],
    contratacao: tuple[str, int, int],
    file: dict[str, Any],
) -> list[dict[str, Any]]:
    """Remove from the contratação the document's earlier files of this type (an older version), each with its
    justificativa, after the new one is there; each row is marked removido."""
    cnpj, ano, sequencial = contratacao
    what = "do Relatório de Pesquisa de Preços" if file["tipo"] == 16 else f"do {document['kind']}"
    reason = f"Substituído pela versão {document['version']} {what} (processo {document['numero_processo']})."
    with session_scope() as session:
        rows = publications.superseded(
            session, uuid.UUID(document["document_id"]), contratacao, file["tipo"], file["sha256"]
        )
        old = [(r.id, r.sequencial_documento, r.document_version, r.url) for r in rows]
    removed = []
    for row_id, number, old_version, url in old:
        if number is not None:
            client.remove(cnpj, ano, sequencial, number, reason)
        with session_scope() as session:
            publications.mark_removed(session, row_id, reason)
        removed.append({"sequencial_documento": number, "document_version": old_version, "url": url, "reason": reason})
    return removed


@task(name="finish-publication", **DB_RETRIES)
def finish_publication(
    document_id: uuid.UUID,
    version: int,
    published: list[dict[str, Any]],
    requested_by: str | None,
    trace_id: str | None,
    flow_run_id: str | None,
) -> bool:
    with session_scope() as session:
        return publications.finish(
            session,
            document_id,
            version,
            published,
            requested_by=requested_by,
            trace_id=trace_id,
            flow_run_id=flow_run_id,
        )
