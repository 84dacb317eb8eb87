"""consolidate-document: an approved ETP/TR becomes a DOCX and a PDF in object storage, registered, consolidado.

Render both → store both (and, for a sigiloso estimate, the classified annex apart) → register them and set the
status in one transaction. A failure at any
step leaves the document aprovado with no registry row, and the run fails naming the step; a rerun
reuses the objects already stored (content-addressed keys) and completes without duplicates.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow

from flows._events import on_consolidation_failure
from flows._identity import run_identity
from flows._steps import run_step
from tasks.notify.kick import start_delivery_run
from tasks.records.tasks import load_consolidation_input, register_artifacts
from tasks.render.tasks import render_files
from tasks.runs.tasks import publish_consolidation
from tasks.storage.tasks import store_classified_annex, store_files


class ConsolidationFailed(RuntimeError):
    """One step of the consolidation failed; nothing was registered and the status is unchanged."""


def _step(name: str, task, *args):
    return run_step(
        task,
        *args,
        failed=lambda reason: ConsolidationFailed(
            f"Consolidação falhou na etapa '{name}': {reason}. O documento continua 'aprovado' e nenhum "
            "artefato foi registrado; corrija a causa e execute a consolidação de novo (arquivos já "
            "gravados são reaproveitados)."
        ),
    )


@flow(
    name="consolidate-document",
    persist_result=True,
    result_serializer="json",
    on_failure=[on_consolidation_failure],
    on_crashed=[on_consolidation_failure],
)
def consolidate_document(document_id: uuid.UUID, requested_by: str | None = None) -> dict[str, Any]:
    """Render, store and register the approved document; idempotent once consolidated. `requested_by`: the person
    who asked (recorded in the audit log)."""
    run_id, trace_id = run_identity()
    prepared = _step("carregar documento", load_consolidation_input, document_id)
    if prepared["already"]:
        return {
            "document_id": str(document_id),
            "version": prepared["version"],
            "already_consolidated": True,
            "artifacts": prepared["already"],
        }
    render = prepared["render"]
    files = _step("renderizar DOCX e PDF", render_files, render)
    stored = _step("armazenar arquivos", store_files, str(document_id), prepared["version"], files)
    if prepared.get("classified"):  # orçamento sigiloso: its sections go to a separate, classified annex
        stored = stored + _step(
            "gerar e armazenar o anexo classificado", store_classified_annex, document_id, prepared["version"]
        )
    artifacts = _step(
        "registrar artefatos e status",
        register_artifacts,
        document_id,
        prepared["version"],
        stored,
        prepared["template_id"],
        prepared["template_version"],
        run_id,
        trace_id,
        requested_by,
    )
    start_delivery_run()  # the document.consolidated event was committed with the artifacts
    publish_consolidation(
        {
            "id": str(document_id),
            "kind": render.kind,
            "numero_processo": render.numero_processo,
            "titulo": render.titulo,
        },
        artifacts,
        return_state=True,
    )
    return {
        "document_id": str(document_id),
        "version": prepared["version"],
        "already_consolidated": False,
        "reused_objects": sum(1 for s in stored if s["reused"]),
        "artifacts": artifacts,
        "annexes": prepared.get("research_reports", []),  # the Relatório de Pesquisa de Preços, cited in the files
    }
