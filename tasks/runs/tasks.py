"""Tasks that talk to the Prefect server about runs: read a failed run (report-run-failure) and publish artifacts on
a run's page (consolidate-document: links to the stored files and a markdown summary)."""

from __future__ import annotations

import uuid
from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from core.logging import trace_id_from_tags
from core.settings import settings
from models.rules import run_message
from tasks import run_logger
from tasks.retry import retry_on


class RunNotFound(LookupError):
    """The run to report does not exist on the Prefect server."""


@task(
    name="read-failed-run",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=retry_on(Exception, unless=RunNotFound),
    cache_policy=NO_CACHE,
)
def read_failed_run(target: uuid.UUID) -> dict[str, Any] | None:
    """What the event says about the run, or None when it is not failed or crashed (or is a report itself)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(target)
        except ObjectNotFound:
            raise RunNotFound(f"execução {target} não encontrada no servidor Prefect") from None
        flow_name = client.read_flow(run.flow_id).name
        deployment = client.read_deployment(run.deployment_id).name if run.deployment_id else None
    state = run.state
    if state is None or state.type.value not in ("FAILED", "CRASHED"):
        run_logger().info("execução %s está em %s: nada a notificar", target, state.name if state else "?")
        return None
    if flow_name == "report-run-failure":  # never report a report: no loop between the automation and this flow
        return None
    state_key = f"{state.type.value}:{state.timestamp.isoformat() if state.timestamp else ''}"
    return {
        "flow_run_id": str(target),
        "flow_run_name": run.name,
        "flow_name": flow_name,
        "deployment": f"{flow_name}/{deployment}" if deployment else None,
        "state": state.name,
        "state_key": state_key,
        "error": (run_message(run.tags or [], state.message) or "")[:2000],  # a sigiloso run's is not told
        "ui_url": f"{settings.prefect_ui_url}/runs/flow-run/{target}",
        "trace_id": trace_id_from_tags(run.tags or []),
    }


@task(name="publish-run-artifacts", retries=1)
def publish_consolidation(document: dict[str, Any], artifacts: list[dict[str, Any]]) -> None:
    """One link per stored file (through the API's download route) and a summary table."""
    key_base = f"consolidated-{document['id']}".lower()[:60]
    classified = [a for a in artifacts if a.get("classified")]
    artifacts = [a for a in artifacts if not a.get("classified")]  # no link to the annex on the run page
    for artifact in artifacts:
        create_link_artifact(
            key=f"{key_base}-{artifact['format']}",
            link=f"{settings.api_url}/api/v1/artifacts/{artifact['id']}/download",
            link_text=f"{document['kind']} {document['numero_processo']} v{artifact['document_version']} "
            f"({artifact['format'].upper()})",
            description=f"{artifact['storage_uri']} · sha256 {artifact['sha256'][:12]}…",
        )
    rows = "\n".join(
        f"| {a['format'].upper()} | {a['size_bytes']:,} | `{a['sha256'][:16]}…` | {a['storage_uri']} |"
        for a in artifacts
    )
    create_markdown_artifact(
        key=f"{key_base}-summary",
        markdown=(
            f"## {document['kind']} {document['numero_processo']} — versão {artifacts[0]['document_version']}\n\n"
            f"**{document['titulo']}** · status **consolidado**\n\n"
            "| formato | bytes | sha256 | armazenamento |\n| --- | ---: | --- | --- |\n"
            + rows
            + (
                f"\n\nAnexo classificado (orçamento sigiloso, art. 24): {len(classified)} arquivo(s), "
                "acesso restrito pela API com o escopo `sigiloso`."
                if classified
                else ""
            )
        ),
        description="Documento consolidado",
    )
