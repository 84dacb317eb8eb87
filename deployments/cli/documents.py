"""`nexora documents …`: consolidate an approved ETP/TR into DOCX and PDF through its deployment."""

from __future__ import annotations

from typing import Annotated

import typer

from core.settings import settings
from deployments.cli.common import as_uuid, console, fail, fails_on
from deployments.operations.stack import apply_prefect_env
from models.errors import DomainError

documents_app = typer.Typer(help="Documentos ETP/TR.", no_args_is_help=True)


@documents_app.command("consolidate")
@fails_on(DomainError)
def documents_consolidate(
    document_id: str,
    wait: Annotated[float, typer.Option(help="segundos a esperar pelo fim da execução (0 = não esperar)")] = 120,
) -> None:
    """Consolidate an approved document into DOCX and PDF (starts the consolidate-document deployment)."""
    import asyncio

    from prefect.client.orchestration import get_client

    from core.logging import new_trace_id
    from deployments.api import prefect_glue as glue
    from deployments.api import triggers
    from deployments.catalog import CONSOLIDATE_DOCUMENT

    apply_prefect_env(settings)
    doc = triggers.consolidatable(as_uuid(document_id))

    async def run() -> dict:
        async with get_client() as client:
            flow_run = await glue.start_run(
                client,
                CONSOLIDATE_DOCUMENT.full_name,
                {"document_id": document_id},
                trace_id=new_trace_id(),
                tags=triggers.run_tags(doc),
                name=f"consolidate-{doc['kind']}-{doc['processo']}-v{doc['version']}",
            )
            console.print(f"execução {flow_run.id} ({flow_run.name}) iniciada")
            if wait:
                flow_run = await glue.wait_for_run(client, flow_run.id, wait)
            return await glue.describe_run(flow_run, settings.prefect_ui_url)

    status = asyncio.run(run())
    console.print(f"estado: {status['state']} — {status['ui_url']}")
    if status["state"] == "COMPLETED":
        for artifact in status["result"]["artifacts"]:
            console.print(f"  {artifact['format']}: {artifact['storage_uri']} ({artifact['size_bytes']:,} bytes)")
    elif status["final"]:
        fail(status["message"] or "a consolidação falhou")
