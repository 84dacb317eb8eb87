"""publish-pncp: a consolidated (or signed) ETP/TR and its Relatório de Pesquisa de Preços attached to a contratação
on PNCP, exactly once however often the run is retried, and the document marked publicado.

Check the contratação and each file (title, size, type) → for each file: its bytes → attach it (or adopt the one a
lost answer left on PNCP) → remove the file of an older version it replaces → status publicado, audit row and the
event document.published in one transaction. A failure leaves the document's status as it was and the run fails
naming the step and PNCP's message; a rerun sends only what is not on PNCP yet.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows._identity import run_identity
from flows._steps import run_step
from models.pncp_rules import check_contratacao, check_file_size, check_tipo, check_titulo
from tasks.notify.kick import start_delivery_run
from tasks.pncp.integration import PncpIntegration
from tasks.pncp.publish import (
    finish_publication,
    load_publication_plan,
    publish_file,
    read_artifact,
    remove_superseded,
    with_retries,
)


class PublicationFailed(RuntimeError):
    """One step of the publication failed; the document's status is unchanged."""


def _step(name: str, status: str, task, *args):
    return run_step(
        task,
        *args,
        typed=False,
        failed=lambda reason: PublicationFailed(
            f"Publicação no PNCP falhou na etapa '{name}': {reason}. O documento continua '{status}'; corrija a "
            "causa e execute a publicação de novo (arquivos já publicados não são enviados outra vez)."
        ),
    )


@flow(name="publish-pncp", persist_result=True, result_serializer="json")
def publish_pncp(
    document_id: uuid.UUID, cnpj: str, ano: int, sequencial: int, requested_by: str | None = None
) -> dict[str, Any]:
    """Publish the document's PDF (type 7 ETP, 4 TR) and, unless the orçamento is sigiloso, its price research
    report (type 16) on the contratação ``cnpj/ano/sequencial``; `requested_by`: the person who asked."""
    run_id, trace_id = run_identity()
    contratacao = (check_contratacao(cnpj, ano, sequencial), ano, sequencial)
    plan = _step("carregar documento", "inalterado", load_publication_plan, document_id)
    status = plan["status"]
    for file in plan["files"]:
        check_tipo(file["tipo"])
        check_titulo(file["titulo"])
        check_file_size(file["size"])
    published: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    with PncpIntegration() as client:
        for file in plan["files"]:
            label = f"tipo {file['tipo']}"
            pdf = _step(f"ler o arquivo ({label})", status, read_artifact, file)
            published.append(
                _step(
                    f"enviar ao PNCP ({label})",
                    status,
                    with_retries(publish_file),
                    client,
                    document_id,
                    plan["version"],
                    contratacao,
                    file,
                    pdf,
                    requested_by,
                    run_id,
                )
            )
            removed += _step(
                f"remover a versão anterior ({label})",
                status,
                with_retries(remove_superseded),
                client,
                plan,
                contratacao,
                file,
            )
    changed = _step(
        "registrar publicação e status",
        status,
        finish_publication,
        document_id,
        plan["version"],
        published,
        requested_by,
        trace_id,
        run_id,
    )
    if changed:
        start_delivery_run()  # the document.published event was committed with the status
    create_table_artifact(
        key=f"pncp-{document_id}",
        table=[{k: p[k] for k in ("tipo_documento_id", "action", "url", "titulo")} for p in published],
        description=f"Publicação no PNCP: contratação {contratacao[0]}/{ano}/{sequencial}, versão {plan['version']}",
    )
    return {
        "document_id": str(document_id),
        "version": plan["version"],
        "contratacao": {"cnpj": contratacao[0], "ano": ano, "sequencial": sequencial},
        "status": "publicado",
        "already_published": all(p["action"] == "ja_publicado" for p in published),
        "sigiloso": plan["sigiloso"],
        "published": published,
        "removed": removed,
    }
