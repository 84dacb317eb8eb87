"""Bad input through the HTTP API: a clear 4xx with a message and the trace_id; nothing stored changes."""

import uuid

import pytest

from tests.utils.builders import document_data


@pytest.fixture
def document(client):
    response = client.post("/api/v1/documents", json=document_data("ETP"))
    assert response.status_code == 201, response.text
    return response.json()


def snapshot(client):
    docs = client.get("/api/v1/documents", params={"limit": 200}).json()
    return docs["count"], [client.get(f"/api/v1/documents/{d['id']}").json() for d in docs["data"][:20]]


def test_auth_errors(api_url, client, keys, document):
    import httpx

    anonymous = httpx.get(f"{api_url}/api/v1/documents")
    assert anonymous.status_code == 401 and "Chave de API ausente" in anonymous.json()["detail"]
    wrong = httpx.get(f"{api_url}/api/v1/documents", headers={"Authorization": "Bearer nxk_000000000000_nope"})
    assert wrong.status_code == 401 and wrong.json()["trace_id"]
    read_only = {"Authorization": f"Bearer {keys['read']}"}
    forbidden = httpx.post(f"{api_url}/api/v1/documents", json=document_data(), headers=read_only)
    assert forbidden.status_code == 403 and "'write'" in forbidden.json()["detail"]
    run = httpx.post(
        f"{api_url}/api/v1/etp/generate-field",
        headers={"Authorization": f"Bearer {keys['write']}"},
        json={"document_id": document["id"], "field": "descricao_necessidade"},
    )
    assert run.status_code == 403 and "'run'" in run.json()["detail"]
    template = httpx.post(f"{api_url}/api/v1/templates", json={}, headers=read_only)
    assert template.status_code == 403


def test_bad_requests_are_4xx_and_change_nothing(client, document):
    doc_id = document["id"]
    before = snapshot(client)
    cases = [
        ("post", "/api/v1/documents", {"json": {**document_data(), "template_id": str(uuid.uuid4())}}, 404),
        ("post", "/api/v1/documents", {"json": {**document_data(), "kind": "EDITAL"}}, 422),
        ("post", "/api/v1/documents", {"json": {"titulo": "x"}}, 422),
        ("post", "/api/v1/documents", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ("get", f"/api/v1/documents/{uuid.uuid4()}", {}, 404),
        ("get", "/api/v1/documents/not-a-uuid", {}, 422),
        ("put", f"/api/v1/documents/{doc_id}/fields/descricao_necessidade", {"json": {"content": ""}}, 422),
        ("put", f"/api/v1/documents/{doc_id}/fields/descricao_necessidade", {"json": {"content": "x" * 70_000}}, 422),
        ("put", f"/api/v1/documents/{doc_id}/fields/nao_existe", {"json": {"content": "texto"}}, 404),
        ("post", f"/api/v1/documents/{doc_id}/transitions", {"json": {"to": "aprovado"}}, 409),
        ("post", f"/api/v1/documents/{doc_id}/transitions", {"json": {"to": "arquivado"}}, 422),
        ("post", "/api/v1/tr/generate-field", {"json": {"document_id": doc_id, "field": "definicao_objeto"}}, 422),
        ("post", "/api/v1/etp/generate-field", {"json": {"document_id": doc_id, "field": "nao_existe"}}, 404),
        (
            "post",
            "/api/v1/etp/generate-field",
            {"json": {"document_id": str(uuid.uuid4()), "field": "descricao_necessidade"}},
            404,
        ),
        (
            "post",
            "/api/v1/etp/generate-field",
            {"json": {"document_id": doc_id, "field": "descricao_necessidade"}, "params": {"wait": -1}},
            422,
        ),
        ("get", f"/api/v1/flow-runs/{uuid.uuid4()}", {}, 404),
        ("get", "/api/v1/documents", {"params": {"limit": 10_000}}, 422),
    ]
    for method, path, kwargs, expected in cases:
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == expected, (method, path, response.status_code, response.text[:300])
        body = response.json()
        assert body["detail"] and body["trace_id"], body
    assert snapshot(client) == before


def test_illegal_transition_lists_allowed_and_incomplete_approval_lists_missing(client, document):
    doc_id = document["id"]
    illegal = client.post(f"/api/v1/documents/{doc_id}/transitions", json={"to": "aprovado"}).json()
    assert illegal["allowed"] == ["em_revisao", "cancelado"] and illegal["current"] == "rascunho"
    assert client.post(f"/api/v1/documents/{doc_id}/transitions", json={"to": "em_revisao"}).status_code == 200
    incomplete = client.post(f"/api/v1/documents/{doc_id}/transitions", json={"to": "aprovado"})
    assert incomplete.status_code == 422
    assert [m["code"] for m in incomplete.json()["missing"]][:3] == ["I", "II", "III"]
    assert client.get(f"/api/v1/documents/{doc_id}").json()["status"] == "em_revisao"
    locked = client.post("/api/v1/etp/generate-field", json={"document_id": doc_id, "field": "descricao_necessidade"})
    assert locked.status_code == 409


def test_templates_api_validates_and_versions(api_url, client, keys):
    import httpx

    admin = {"Authorization": f"Bearer {keys['admin']}"}
    listed = client.get("/api/v1/templates").json()
    assert listed["count"] >= 2
    etp = next(t for t in listed["data"] if t["kind"] == "ETP")
    full = client.get(f"/api/v1/templates/{etp['id']}").json()
    assert len(full["sections"]) == 13
    body = {k: full[k] for k in ("name", "kind", "description", "legal_basis", "sections")}
    body["name"] = f"ETP órgão {uuid.uuid4().hex[:6]}"
    first = httpx.post(f"{api_url}/api/v1/templates", json=body, headers=admin)
    assert first.status_code == 201 and first.json()["version"] == 1
    same = httpx.post(f"{api_url}/api/v1/templates", json=body, headers=admin)
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    body["sections"][3]["guidance"] = "curto"
    bad = httpx.post(f"{api_url}/api/v1/templates", json=body, headers=admin)
    assert bad.status_code == 422 and "seção 4 ('estimativa_quantidades'): guidance" in bad.json()["detail"]


def test_slow_orchestrator_gives_503_with_retry_advice(client, document, monkeypatch):
    from core.settings import settings

    monkeypatch.setattr(settings, "RUN_START_TIMEOUT", 0.001)
    response = client.post(
        "/api/v1/etp/generate-field", json={"document_id": document["id"], "field": "descricao_necessidade"}
    )
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "Idempotency-Key" in response.json()["detail"]
