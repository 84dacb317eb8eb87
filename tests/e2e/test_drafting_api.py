"""End to end: HTTP API → deployment → flow run in the runner → field stored, trace id on the run."""

import uuid

import pytest

from tests.utils.builders import AUTHORITY, PLANNER, document_data

pytestmark = pytest.mark.usefixtures("runner")


def new_document(client, kind="ETP"):
    response = client.post("/api/v1/documents", json=document_data(kind))
    assert response.status_code == 201, response.text
    return response.json()


def test_generate_field_through_the_api(client, llm):
    doc = new_document(client)
    trace = f"e2e-{uuid.uuid4().hex[:8]}"
    accepted = client.post(
        "/api/v1/etp/generate-field",
        headers={"X-Request-ID": trace},
        json={"document_id": doc["id"], "field": "descricao_necessidade"},
    )
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    # the trace id is the server's; the caller's X-Request-ID comes back apart (issue 21)
    assert body["request_id"] == trace and accepted.headers["X-Request-ID"] == trace
    assert body["trace_id"] != trace and body["trace_id"] == accepted.headers["X-Trace-ID"]
    assert body["name"].startswith("generate-ETP-23000") and body["name"].endswith("descricao_necessidade")
    status = client.get(body["status_url"], params={"wait": 60}).json()
    assert status["state"] == "COMPLETED", status
    assert f"trace:{body['trace_id']}" in status["tags"] and status["trace_id"] == body["trace_id"]
    assert f"request:{trace}" in status["tags"]
    assert status["result"]["source"] == "llm" and status["result"]["content"].startswith("Texto redigido")
    field = next(
        f for f in client.get(f"/api/v1/documents/{doc['id']}").json()["fields"] if f["slug"] == "descricao_necessidade"
    )
    assert (
        field["source"] == "llm"
        and field["trace_id"] == body["trace_id"]
        and field["flow_run_id"] == body["flow_run_id"]
    )
    assert field["tokens_in"] > 0 and llm.calls == 1


def test_idempotency_key_gives_the_same_run(client):
    doc = new_document(client, "TR")
    payload = {"document_id": doc["id"], "field": "definicao_objeto"}
    key = {"Idempotency-Key": f"idem-{uuid.uuid4()}"}
    first = client.post("/api/v1/tr/generate-field", json=payload, headers=key).json()
    second = client.post("/api/v1/tr/generate-field", json=payload, headers=key).json()
    assert first["flow_run_id"] == second["flow_run_id"]
    other = client.post("/api/v1/tr/generate-field", json={**payload, "field": "modelo_gestao"}, headers=key)
    assert other.status_code == 409 and other.json()["flow_run_id"] == first["flow_run_id"]
    assert client.get(f"/api/v1/flow-runs/{first['flow_run_id']}", params={"wait": 60}).json()["state"] == "COMPLETED"


def test_wait_returns_the_result_and_a_slow_llm_returns_202(client, llm):
    doc = new_document(client)
    done = client.post(f"/api/v1/documents/{doc['id']}/generate", params={"wait": 90})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "COMPLETED" and len(done.json()["result"]["fields"]) == 13
    fields = client.get(f"/api/v1/documents/{doc['id']}").json()["fields"]
    assert all(f["source"] == "llm" for f in fields)

    llm.set(mode="slow", delay=1.5)
    slow = client.post(
        "/api/v1/etp/generate-field",
        params={"wait": 0.5},
        json={"document_id": doc["id"], "field": "estimativa_valor", "force": True},
    )
    assert slow.status_code == 202 and slow.json()["state"] in ("SCHEDULED", "PENDING", "RUNNING")
    final = client.get(slow.json()["status_url"], params={"wait": 60}).json()
    assert final["state"] == "COMPLETED"


def test_failed_run_reports_the_reason(client, llm):
    llm.set(mode="status", status=401)
    doc = new_document(client)
    accepted = client.post(
        "/api/v1/etp/generate-field", json={"document_id": doc["id"], "field": "posicionamento_conclusivo"}
    ).json()
    status = client.get(f"/api/v1/flow-runs/{accepted['flow_run_id']}", params={"wait": 60}).json()
    assert status["state"] == "FAILED" and "AuthenticationError" in status["message"]
    assert llm.calls == 1


def test_health_and_openapi(api_url, client):
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["llm_provider"] == "llm"
    # the scheduled deployments as the session's runner registered them: paused there (SCHEDULES_PAUSED), so no
    # run ahead and no problem reported (tests/integration/test_schedules.py checks active ones make runs)
    assert health["agendamentos"] == "ok"
    assert set(health["deployments"]) == {
        "collect-pncp",
        "collect-pncp-documents",
        "train-price-model",
        "deliver-notifications",
    }
    assert health["deployments"]["collect-pncp"]["agendamentos"] == ["0 3 * * * (America/Sao_Paulo) (inativo)"]
    assert health["deployments"]["collect-pncp"]["proxima_execucao"] is None
    assert health["deployments"]["deliver-notifications"]["agendamentos"] == ["a cada 60 s (inativo)"]
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/etp/generate-field",
        "/api/v1/tr/generate-field",
        "/api/v1/documents/{document_id}/generate",
        "/api/v1/flow-runs/{flow_run_id}",
        "/api/v1/templates",
        "/api/v1/documents/{document_id}/transitions",
    ):
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_the_cli_drafts_a_section_or_every_empty_one_with_the_flows_parameter_model(client, llm):
    from typer.testing import CliRunner

    from deployments.cli.app import app

    doc = new_document(client, "TR")
    nobody = CliRunner().invoke(app, ["documents", "generate", doc["id"]], env={"NEXORA_ACTOR": ""})
    assert nobody.exit_code == 1 and "informe quem age: --actor" in nobody.output
    boss = CliRunner().invoke(app, ["documents", "generate", doc["id"], "--actor", AUTHORITY])
    assert boss.exit_code == 1 and "não integra a equipe de planejamento" in boss.output
    as_ana = {"NEXORA_ACTOR": PLANNER}  # the option's environment variable
    long = CliRunner(env=as_ana).invoke(
        app, ["documents", "generate", doc["id"], "--field", "definicao_objeto", "--instructions", "x" * 2001]
    )
    assert long.exit_code == 1 and "instructions" in long.output and "2000" in long.output  # the model's limit
    unknown = CliRunner(env=as_ana).invoke(app, ["documents", "generate", doc["id"], "--field", "nao_existe"])
    assert unknown.exit_code == 1 and "não tem a seção 'nao_existe'" in unknown.output
    one = CliRunner(env=as_ana).invoke(
        app, ["documents", "generate", doc["id"], "--field", "definicao_objeto", "--wait", "90"], terminal_width=200
    )
    assert one.exit_code == 0, one.output
    assert "COMPLETED" in one.output and "definicao_objeto: llm" in one.output
    rest = CliRunner().invoke(
        app, ["documents", "generate", doc["id"], "--wait", "90", "--actor", PLANNER], terminal_width=200
    )
    assert rest.exit_code == 0, rest.output
    fields = client.get(f"/api/v1/documents/{doc['id']}").json()["fields"]
    assert all(f["source"] == "llm" for f in fields)
    assert "definicao_objeto:" not in rest.output  # drafted already: only the empty sections were drafted
