"""Storage tasks of consolidate-document: the public DOCX and PDF, and the classified annex of a sigiloso estimate.

The annex (Lei 14.133 art. 24; ETP inciso VI, TR alínea i) is read, rendered and stored inside one task: the estimate's
text never becomes a task result, a flow parameter or a log line; only the stored files' keys and hashes leave the
task. Its files go under `classificado/`, apart from the public DOCX/PDF, and the API lists and serves them only to
keys with the `sigiloso` scope (audited).
"""

from __future__ import annotations

import uuid

from prefect import task
from prefect.cache_policies import DEFAULT

from models.crud.documents import document_view, responsibles
from models.db import session_scope
from models.errors import ConflictError, DomainError
from tasks import run_logger
from tasks.records.printed import printed
from tasks.render.files import render_all
from tasks.retry import declared_retryable, retry_on
from tasks.storage.store import put_files

# storage and database faults that may pass (5xx, connection) are retried; not refusals (AccessDenied, NoSuchBucket,
# a document that changed meanwhile)
storage_retry = retry_on(Exception, unless=DomainError, when=declared_retryable)


@task(
    name="store-files",
    retries=2,
    retry_delay_seconds=[1, 4],
    retry_jitter_factor=0.5,
    retry_condition_fn=storage_retry,
    cache_policy=DEFAULT,
)
def store_files(document_id: str, version: int, files: dict[str, bytes]) -> list[dict]:
    """Put each file under its content-addressed key; an object already there is reused, not rewritten.

    The result (keys and hashes) is kept for the flow run: a retried run takes it back without touching storage."""
    return put_files(document_id, version, files)


@task(
    name="store-classified-annex",
    retries=2,
    retry_delay_seconds=[1, 4],
    retry_jitter_factor=0.5,
    retry_condition_fn=storage_retry,
    cache_policy=DEFAULT,
)
def store_classified_annex(document_id: uuid.UUID, version: int) -> list[dict]:
    """DOCX and PDF of the sigiloso sections, stored under classificado/; returns keys and hashes only."""
    with session_scope() as session:
        view = document_view(session, document_id)
        if view.document.version != version:
            raise ConflictError(f"O documento mudou para a versão {view.document.version} durante a consolidação.")
        if not view.protected_slugs:
            raise ConflictError("O orçamento deste documento não é sigiloso; não há anexo classificado a gerar.")
        from models.crud.price_research import finalised_figures

        research = finalised_figures(session, document_id)
        annex = printed(view, annex=True, responsibles=responsibles(session, view), research=research)
    stored = put_files(str(document_id), version, render_all(annex), classified=True)
    run_logger().info("classified annex stored: %s", ", ".join(f"{s['format']} {s['size']} bytes" for s in stored))
    return stored
