"""Consolidation through the API: 409/404 first, one run per Idempotency-Key, files downloadable."""

import hashlib
import uuid

import pytest

from tests.utils.builders import AUTHORITY, PLANNER, approve_document, document_data

pytestmark = pytest.mark.usefixtures("runner")


def run_page_artifacts(flow_run_id: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as prefect:
        return prefect.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[uuid.UUID(flow_run_id)]))
        )


def test_cli_consolidates_and_reports_the_files(sqlite_url):
    from typer.testing import CliRunner

    from deployments.cli.app import app
    from tests.utils.builders import make_document

    doc = make_document(sqlite_url, "TR")
    refused = CliRunner().invoke(app, ["documents", "consolidate", str(doc), "--actor", PLANNER])
    assert refused.exit_code == 1 and "aprovado" in refused.output
    approve_document(sqlite_url, doc)
    done = CliRunner().invoke(
        app, ["documents", "consolidate", str(doc), "--wait", "90", "--actor", AUTHORITY], terminal_width=200
    )
    assert done.exit_code == 0, done.output
    assert "COMPLETED" in done.output and "docx:" in done.output and "pdf:" in done.output


def test_consolidate_through_the_api(client, sqlite_url, tmp_path):
    doc = client.post("/api/v1/documents", json=document_data("ETP")).json()
    draft = client.post(f"/api/v1/documents/{doc['id']}/consolidate")
    assert draft.status_code == 409 and "aprovado" in draft.json()["detail"]
    assert client.post(f"/api/v1/documents/{uuid.uuid4()}/consolidate").status_code == 404

    approve_document(sqlite_url, uuid.UUID(doc["id"]))
    key = {"Idempotency-Key": f"cons-{uuid.uuid4()}"}
    first = client.post(f"/api/v1/documents/{doc['id']}/consolidate", headers=key)
    second = client.post(f"/api/v1/documents/{doc['id']}/consolidate", headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["flow_run_id"] == second.json()["flow_run_id"]
    assert first.json()["name"].startswith("consolidate-ETP-23000")
    status = client.get(first.json()["status_url"], params={"wait": 90}).json()
    assert status["state"] == "COMPLETED", status

    document = client.get(f"/api/v1/documents/{doc['id']}").json()
    assert document["status"] == "consolidado"
    run_artifacts = run_page_artifacts(first.json()["flow_run_id"])
    by_key = {a.key: a for a in run_artifacts if a.key}
    base = f"consolidated-{doc['id']}"
    assert set(by_key) == {f"{base}-docx", f"{base}-pdf", f"{base}-summary"}
    assert "/download" in by_key[f"{base}-docx"].data and "/download" in by_key[f"{base}-pdf"].data
    assert "consolidado" in by_key[f"{base}-summary"].data
    artifacts = client.get(f"/api/v1/documents/{doc['id']}/artifacts").json()
    assert sorted(a["format"] for a in artifacts) == ["docx", "pdf"]
    for artifact in artifacts:
        download = client.get(artifact["download_url"])
        assert download.status_code == 200
        digest = hashlib.sha256(download.content).hexdigest()
        assert digest == artifact["sha256"] == download.headers["X-Content-SHA256"]
        assert f"v1.{artifact['format']}" in download.headers["content-disposition"]

    again = client.post(f"/api/v1/documents/{doc['id']}/consolidate")
    assert again.status_code == 409 and "já está consolidado" in again.json()["detail"]
    edit = client.put(f"/api/v1/documents/{doc['id']}/fields/descricao_necessidade", json={"content": "novo texto"})
    assert edit.status_code == 409
    opened = client.post(f"/api/v1/documents/{doc['id']}/versions", json={"reason": "ajuste do quantitativo"})
    assert opened.status_code == 200 and opened.json()["version"] == 2 and opened.json()["status"] == "rascunho"
    assert (
        client.put(
            f"/api/v1/documents/{doc['id']}/fields/descricao_necessidade", json={"content": "novo texto"}
        ).status_code
        == 200
    )
    assert client.delete(f"/api/v1/documents/{doc['id']}").status_code == 409
    assert len(client.get(f"/api/v1/documents/{doc['id']}/artifacts").json()) == 2
    assert client.get(f"/api/v1/artifacts/{uuid.uuid4()}/download").status_code == 404
