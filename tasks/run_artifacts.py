"""Artifacts on the Prefect run page: links to stored files and a markdown summary."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from core.settings import settings


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
    rows = "\n".join(f"| {a['format'].upper()} | {a['size_bytes']:,} | `{a['sha256'][:16]}…` | {a['storage_uri']} |"
                     for a in artifacts)
    create_markdown_artifact(
        key=f"{key_base}-summary",
        markdown=(f"## {document['kind']} {document['numero_processo']} — versão {artifacts[0]['document_version']}\n\n"
                  f"**{document['titulo']}** · status **consolidado**\n\n"
                  "| formato | bytes | sha256 | armazenamento |\n| --- | ---: | --- | --- |\n" + rows
                  + (f"\n\nAnexo classificado (orçamento sigiloso, art. 24): {len(classified)} arquivo(s), "
                     "acesso restrito pela API com o escopo `sigiloso`." if classified else "")),
        description="Documento consolidado",
    )
