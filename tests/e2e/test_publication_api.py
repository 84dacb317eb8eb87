"""Publication on PNCP through the API (publish-pncp against the loopback integration API): an approved and
consolidated ETP is attached to its contratação exactly once however often the run is retried or repeated."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlmodel import select

from models.db import session_scope
from models.notification import Event
from tests.utils.builders import AUTHORITY, OTHER_AUTHORITY, actor, approve_document, make_document

pytestmark = pytest.mark.usefixtures("runner")

CNPJ = "00394445000101"
ITEM = {"descricao": "Notebook 14 polegadas, 16 GB", "unidade": "UNIDADE", "quantidade": 52, "material_ou_servico": "M"}
JUSTIFIED = "Preservar a competitividade do pregão: o valor estimado só é divulgado após o julgamento."


def consolidated(client, sqlite_url, kind: str = "ETP", **overrides) -> str:
    doc = make_document(sqlite_url, kind, itens=[ITEM], **overrides)
    approve_document(sqlite_url, doc)
    done = client.post(f"/api/v1/documents/{doc}/consolidate", params={"wait": 120})
    assert done.status_code == 200 and done.json()["state"] == "COMPLETED", done.text
    return str(doc)


def contratacao(server) -> dict:
    body = {"cnpj": CNPJ, "ano": 2026, "sequencial": random.randint(1, 9_000_000)}
    server.add_compra(CNPJ, 2026, body["sequencial"])
    return body


def publish(client, doc: str, body: dict, **headers):
    return client.post(f"/api/v1/documents/{doc}/publish", json=body, params={"wait": 120}, headers=headers)


def artifact_sha(client, doc: str, kind: str) -> str:
    found = [
        a["sha256"]
        for a in client.get(f"/api/v1/documents/{doc}/artifacts").json()
        if a["kind"] == kind and a["format"] == "pdf" and not a["classified"]
    ]
    return found[0]


def test_an_approved_etp_is_published_once_with_its_price_research_report(client, sqlite_url, pncp_publisher):
    doc = consolidated(client, sqlite_url)
    body = contratacao(pncp_publisher)
    key = {"Idempotency-Key": f"pub-{uuid.uuid4()}"}
    started = client.post(f"/api/v1/documents/{doc}/publish", json=body, headers=key)
    again = client.post(f"/api/v1/documents/{doc}/publish", json=body, headers=key)
    assert started.status_code == again.status_code == 202, started.text
    assert started.json()["flow_run_id"] == again.json()["flow_run_id"]
    assert started.json()["name"].startswith("publish-ETP-23000")
    done = client.get(started.json()["status_url"], params={"wait": 120}).json()
    assert done["state"] == "COMPLETED", done["message"]

    files = pncp_publisher.active(CNPJ, 2026, body["sequencial"])
    assert sorted(f["tipoDocumentoId"] for f in files) == [7, 16]
    by_type = {f["tipoDocumentoId"]: f for f in files}
    assert by_type[7]["sha256"] == artifact_sha(client, doc, "documento")  # the consolidated PDF, unchanged
    assert by_type[16]["sha256"] == artifact_sha(client, doc, "pesquisa_precos")
    assert "Estudo Técnico Preliminar (ETP)" in by_type[7]["titulo"] and "versão 1" in by_type[7]["titulo"]
    assert "Relatório de Pesquisa de Preços" in by_type[16]["titulo"]
    assert pncp_publisher.calls["login"] == 1  # one token for the run's calls

    assert client.get(f"/api/v1/documents/{doc}").json()["status"] == "publicado"
    rows = client.get(f"/api/v1/documents/{doc}/publications").json()
    assert sorted((r["tipo_documento_id"], r["status"]) for r in rows) == [(7, "publicado"), (16, "publicado")]
    assert {r["url"] for r in rows} == {f["url"] for f in files}
    assert all(r["requested_by"] == "1234567" and r["published_at"] and r["sequencial_documento"] for r in rows)
    with session_scope(sqlite_url) as session:
        events = session.exec(
            select(Event).where(Event.type == "document.published", Event.document_id == uuid.UUID(doc))
        ).all()
        assert len(events) == 1 and len(events[0].data["publications"]) == 2

    rerun = publish(client, doc, body)
    assert rerun.json()["state"] == "COMPLETED", rerun.text
    assert {p["action"] for p in rerun.json()["result"]["published"]} == {"ja_publicado"}
    assert len(pncp_publisher.active(CNPJ, 2026, body["sequencial"])) == 2 and pncp_publisher.calls["upload"] == 2
    with session_scope(sqlite_url) as session:
        assert (
            len(
                session.exec(
                    select(Event).where(Event.type == "document.published", Event.document_id == uuid.UUID(doc))
                ).all()
            )
            == 1
        )


def test_500_bursts_429_and_a_lost_answer_still_attach_each_file_exactly_once(client, sqlite_url, pncp_publisher):
    doc = consolidated(client, sqlite_url)
    body = contratacao(pncp_publisher)
    pncp_publisher.fail("upload", 500, times=2)  # the ETP: two 500s, then the answer is lost after PNCP stored it
    pncp_publisher.lose("upload")
    pncp_publisher.fail("upload", 429)  # the report: throttled once
    done = publish(client, doc, body)
    assert done.json()["state"] == "COMPLETED", done.text
    actions = {p["tipo_documento_id"]: p["action"] for p in done.json()["result"]["published"]}
    assert actions == {7: "adotado", 16: "enviado"}
    files = pncp_publisher.active(CNPJ, 2026, body["sequencial"])
    assert sorted(f["tipoDocumentoId"] for f in files) == [7, 16]  # exactly one of each
    assert pncp_publisher.calls["upload"] == 5  # 500, 500, lost (stored), 429, 201
    rows = client.get(f"/api/v1/documents/{doc}/publications").json()
    assert sorted(r["sequencial_documento"] for r in rows) == sorted(f["sequencialDocumento"] for f in files)


def test_a_422_fails_the_run_with_pncps_message_and_a_rerun_publishes_after_a_401(client, sqlite_url, pncp_publisher):
    doc = consolidated(client, sqlite_url)
    body = contratacao(pncp_publisher)
    pncp_publisher.fail("upload", 422, message="Tipo-Documento-Id incompatível com a contratação")
    failed = publish(client, doc, body)
    assert failed.json()["state"] == "FAILED", failed.text
    assert "Tipo-Documento-Id incompatível com a contratação" in failed.json()["message"]
    assert "continua 'consolidado'" in failed.json()["message"]
    assert pncp_publisher.calls["upload"] == 1  # never retried
    assert client.get(f"/api/v1/documents/{doc}").json()["status"] == "consolidado"
    rows = client.get(f"/api/v1/documents/{doc}/publications").json()
    assert [r["status"] for r in rows] == ["enviando"] and rows[0]["url"] is None

    pncp_publisher.fail("upload", 401, message="Token expirado")  # the rerun's token is refused once: asked again
    done = publish(client, doc, body)
    assert done.json()["state"] == "COMPLETED", done.text
    assert len(pncp_publisher.active(CNPJ, 2026, body["sequencial"])) == 2
    assert pncp_publisher.calls["login"] == 3  # one per run, and the one after the 401
    assert client.get(f"/api/v1/documents/{doc}").json()["status"] == "publicado"


def test_a_new_version_replaces_the_old_files_with_a_justificativa(client, sqlite_url, pncp_publisher):
    doc = consolidated(client, sqlite_url)
    body = contratacao(pncp_publisher)
    assert publish(client, doc, body).json()["state"] == "COMPLETED"
    opened = client.post(f"/api/v1/documents/{doc}/versions", json={"reason": "ajuste do quantitativo"})
    assert opened.status_code == 200 and opened.json()["version"] == 2, opened.text
    approve_document(sqlite_url, uuid.UUID(doc))
    assert client.post(f"/api/v1/documents/{doc}/consolidate", params={"wait": 120}).json()["state"] == "COMPLETED"

    done = publish(client, doc, body)
    assert done.json()["state"] == "COMPLETED", done.text
    stored = pncp_publisher.files[(CNPJ, 2026, body["sequencial"])]
    active = [f for f in stored if f["statusAtivo"]]
    assert sorted(f["tipoDocumentoId"] for f in active) == [7, 16] and all("versão 2" in f["titulo"] for f in active)
    gone = [f for f in stored if not f["statusAtivo"]]
    assert sorted(f["tipoDocumentoId"] for f in gone) == [7, 16]
    assert all(f["justificativa"].startswith("Substituído pela versão 2") for f in gone)
    rows = client.get(f"/api/v1/documents/{doc}/publications").json()
    assert sorted((r["document_version"], r["status"]) for r in rows) == [
        (1, "removido"),
        (1, "removido"),
        (2, "publicado"),
        (2, "publicado"),
    ]


def test_a_sigiloso_estimate_publishes_the_etp_without_the_price_research_report(client, sqlite_url, pncp_publisher):
    from typer.testing import CliRunner

    from deployments.cli.app import app

    doc = consolidated(client, sqlite_url, orcamento_sigiloso=True, orcamento_sigiloso_justificativa=JUSTIFIED)
    body = contratacao(pncp_publisher)
    args = ["documents", "publish", doc, "--cnpj", CNPJ, "--ano", "2026", "--sequencial", str(body["sequencial"])]
    done = CliRunner().invoke(app, [*args, "--wait", "120", "--actor", AUTHORITY], terminal_width=200)
    assert done.exit_code == 0, done.output
    assert "COMPLETED" in done.output and "tipo 7 (enviado)" in done.output and "tipo 16" not in done.output
    files = pncp_publisher.active(CNPJ, 2026, body["sequencial"])
    assert [f["tipoDocumentoId"] for f in files] == [7]
    assert files[0]["sha256"] == artifact_sha(client, doc, "documento")  # the public PDF, never the annex


def test_the_api_refuses_before_any_run_starts(client, sqlite_url, pncp_publisher, monkeypatch):
    from core.settings import settings

    draft = str(make_document(sqlite_url, "ETP"))
    body = contratacao(pncp_publisher)
    refused = client.post(f"/api/v1/documents/{draft}/publish", json=body)
    assert refused.status_code == 409 and "consolidado" in refused.json()["detail"]
    bad_cnpj = client.post(f"/api/v1/documents/{draft}/publish", json={**body, "cnpj": "00394445000102"})
    assert bad_cnpj.status_code == 422 and "CNPJ do órgão inválido" in bad_cnpj.json()["detail"]
    assert client.post(f"/api/v1/documents/{uuid.uuid4()}/publish", json=body).status_code == 404
    other = client.post(f"/api/v1/documents/{draft}/publish", json=body, headers=actor(OTHER_AUTHORITY))
    assert other.status_code == 403 and "art. 54" in other.json()["detail"]

    doc = make_document(sqlite_url, "TR")
    approve_document(sqlite_url, doc)
    assert client.post(f"/api/v1/documents/{doc}/consolidate", params={"wait": 120}).json()["state"] == "COMPLETED"
    monkeypatch.setattr(settings, "PNCP_LOGIN", None)
    unconfigured = client.post(f"/api/v1/documents/{doc}/publish", json=body)
    assert unconfigured.status_code == 503 and "PNCP_LOGIN" in unconfigured.json()["detail"]
    assert pncp_publisher.calls["upload"] == 0
    assert client.get(f"/api/v1/documents/{doc}/publications").json() == []


def test_a_tr_made_from_the_etp_does_not_attach_the_same_price_research_report_again(
    client, sqlite_url, pncp_publisher
):
    from models.crud import documents as crud
    from models.enums import DocumentStatus
    from tests.utils.builders import PLANNER, acting, fill_document

    etp = consolidated(client, sqlite_url)
    body = contratacao(pncp_publisher)
    assert publish(client, etp, body).json()["state"] == "COMPLETED"
    tr = client.post(f"/api/v1/documents/{etp}/tr").json()["id"]
    fill_document(sqlite_url, uuid.UUID(tr))  # approved on the ETP's research: one process, one research
    with session_scope(sqlite_url) as session:
        crud.transition(session, uuid.UUID(tr), DocumentStatus.EM_REVISAO, None, acting(session, PLANNER))
        crud.transition(session, uuid.UUID(tr), DocumentStatus.APROVADO, "Aprovo.", acting(session, AUTHORITY))
    assert client.post(f"/api/v1/documents/{tr}/consolidate", params={"wait": 120}).json()["state"] == "COMPLETED"

    done = publish(client, tr, body)
    assert done.json()["state"] == "COMPLETED", done.text
    actions = {p["tipo_documento_id"]: p["action"] for p in done.json()["result"]["published"]}
    assert actions == {4: "enviado", 16: "ja_publicado"}
    files = pncp_publisher.active(CNPJ, 2026, body["sequencial"])
    assert sorted(f["tipoDocumentoId"] for f in files) == [4, 7, 16]
    assert client.get(f"/api/v1/documents/{tr}").json()["status"] == "publicado"
    assert client.get(f"/api/v1/documents/{etp}").json()["status"] == "publicado"
