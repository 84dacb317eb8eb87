"""Notifications through the API and the running platform: subscriptions, an approval reaching a signed webhook
through the runner, the delivery log, and re-driving a dead letter."""

from __future__ import annotations

import uuid

import httpx
import pytest

from core.settings import settings
from tests.servers.webhook import Behaviour
from tests.utils.builders import AUTHORITY, actor, document_data, fill_document
from tests.utils.waiting import wait_for

pytestmark = pytest.mark.usefixtures("runner")


@pytest.fixture
def admin(api_url, keys):
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=30) as c:
        yield c


@pytest.fixture
def reader(api_url, keys):
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {keys['read']}"}, timeout=30) as c:
        yield c


def test_subscription_requests_are_checked(admin, client, receiver, monkeypatch):
    ok = admin.post(
        "/api/v1/subscriptions",
        json={
            "channel": "webhook",
            "target": f"{receiver.url}/api-check",
            "event_types": ["document.approved"],
            "name": "painel",
        },
    )
    assert ok.status_code == 201 and ok.json()["secret"].startswith("whsec_")
    listed = admin.get("/api/v1/subscriptions").json()
    mine = [s for s in listed if s["id"] == ok.json()["id"]]
    assert mine and "secret" not in mine[0] and "secret_encrypted" not in mine[0]
    assert [s["id"] for s in admin.get("/api/v1/subscriptions", params={"limit": 1}).json()] == [ok.json()["id"]]
    assert admin.get("/api/v1/subscriptions", params={"limit": 501}).status_code == 422  # pages are capped
    assert client.get("/api/v1/subscriptions").status_code == 403  # needs the admin scope
    for body, needle in (
        ({"channel": "email", "target": "nao-e-email", "event_types": ["*"]}, "E-mail inválido"),
        ({"channel": "email", "target": "a@orgao.gov.br", "event_types": ["document.perdido"]}, "desconhecido"),
        ({"channel": "email", "target": "a@orgao.gov.br", "event_types": []}, "event_types"),
        ({"channel": "sms", "target": "+5561999999999", "event_types": ["*"]}, "channel"),
        ({"channel": "webhook", "target": "http://192.168.0.10/hook", "event_types": ["*"]}, "endereço interno"),
    ):
        answer = admin.post("/api/v1/subscriptions", json=body)
        assert answer.status_code == 422 and needle in answer.text, (body, answer.text)
    monkeypatch.setattr(settings, "ENVIRONMENT", "production")
    answer = admin.post(
        "/api/v1/subscriptions", json={"channel": "webhook", "target": f"{receiver.url}/x", "event_types": ["*"]}
    )
    assert answer.status_code == 422 and "https" in answer.json()["detail"]
    monkeypatch.setattr(settings, "ENVIRONMENT", "test")
    assert admin.delete(f"/api/v1/subscriptions/{ok.json()['id']}").json()["active"] is False
    assert admin.get(f"/api/v1/subscriptions/{uuid.uuid4()}").status_code == 404


def test_approval_reaches_the_webhook_through_the_runner(admin, client, receiver, sqlite_url):
    path = f"/approved-{uuid.uuid4().hex[:6]}"
    created = admin.post(
        "/api/v1/subscriptions",
        json={"channel": "webhook", "target": f"{receiver.url}{path}", "event_types": ["document.approved"]},
    ).json()
    receiver.secrets[path] = created["secret"]
    doc = client.post("/api/v1/documents", json=document_data("ETP")).json()
    fill_document(sqlite_url, uuid.UUID(doc["id"]))
    assert client.post(f"/api/v1/documents/{doc['id']}/transitions", json={"to": "em_revisao"}).status_code == 200
    approval = {"to": "aprovado", "reason": "Aprovo."}
    approved = client.post(f"/api/v1/documents/{doc['id']}/transitions", json=approval, headers=actor(AUTHORITY))
    assert approved.status_code == 200, approved.text
    (got,) = wait_for(lambda: receiver.events(path))  # started by the event, not by the minute schedule
    assert got.signature_ok and got.body["type"] == "document.approved" and got.body["document_id"] == doc["id"]
    mine = {"event": "document.approved", "subscription_id": created["id"], "status": "delivered"}
    page = wait_for(lambda: list(client.get("/api/v1/notifications", params=mine).json()["data"]))
    detail = client.get(f"/api/v1/notifications/{page[0]['id']}").json()
    assert detail["event"]["id"] == got.event_id and detail["attempt_log"][0]["status_code"] == 200
    again = admin.post(f"/api/v1/notifications/{page[0]['id']}/retry")
    assert again.status_code == 409 and "já foi entregue" in again.json()["detail"]
    assert admin.post(f"/api/v1/notifications/{uuid.uuid4()}/retry").status_code == 404
    assert client.get("/api/v1/notifications", params={"status": "perdida"}).status_code == 422
    admin.delete(f"/api/v1/subscriptions/{created['id']}")


def test_dead_letter_is_redriven_through_the_api(admin, client, receiver, sqlite_url):
    path = f"/gone-{uuid.uuid4().hex[:6]}"
    created = admin.post(
        "/api/v1/subscriptions",
        json={"channel": "webhook", "target": f"{receiver.url}{path}", "event_types": ["document.submitted"]},
    ).json()
    receiver.secrets[path] = created["secret"]
    receiver.behaviours[path] = Behaviour(status=410)
    doc = client.post("/api/v1/documents", json=document_data("TR")).json()
    fill_document(sqlite_url, uuid.UUID(doc["id"]), justify=())
    assert client.post(f"/api/v1/documents/{doc['id']}/transitions", json={"to": "em_revisao"}).status_code == 200
    (dead,) = wait_for(
        lambda: admin.get("/api/v1/notifications", params={"target": path, "status": "dead"}).json()["data"]
    )
    assert dead["last_status_code"] == 410 and "HTTP 410" in dead["last_error"]
    receiver.behaviours[path] = Behaviour()
    for path_ in (f"/api/v1/notifications/{dead['id']}/retry", "/api/v1/notifications/retry-dead"):
        refused = client.post(path_)  # a write key re-drives nothing: re-driving is the operators' (admin)
        assert refused.status_code == 403 and "'admin'" in refused.json()["detail"], refused.text
    assert client.get(f"/api/v1/notifications/{dead['id']}").json()["status"] == "dead"
    redriven = admin.post(f"/api/v1/notifications/{dead['id']}/retry")
    assert redriven.status_code == 200 and redriven.json()["status"] == "pending"
    wait_for(lambda: receiver.events(path))
    final = wait_for(
        lambda: (lambda d: d if d["status"] == "delivered" else None)(
            client.get(f"/api/v1/notifications/{dead['id']}").json()
        )
    )
    assert [a["outcome"] for a in final["attempt_log"]] == ["dead", "delivered"]
    admin.delete(f"/api/v1/subscriptions/{created['id']}")


def test_an_idna_host_is_checked_as_the_client_will_send_it(admin, fake_dns):
    # Python's IDNA2003 codec reads straße as strasse, httpx connects to IDNA2008's xn--strae-oqa
    fake_dns.add("strasse.example", ["93.184.215.14"])
    fake_dns.add("xn--strae-oqa.example", ["127.0.0.1"])
    body = {"channel": "webhook", "target": "http://straße.example/hook", "event_types": ["*"]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "WEBHOOK_ALLOWED_NETWORKS", "")
        refused = admin.post("/api/v1/subscriptions", json=body)
    assert refused.status_code == 422 and "endereço interno 127.0.0.1" in refused.json()["detail"], refused.text
    fullwidth = admin.post("/api/v1/subscriptions", json={**body, "target": "http://ｅｘａｍｐｌｅ.com/hook"})
    assert fullwidth.status_code == 422 and "IDNA2008" in fullwidth.json()["detail"], fullwidth.text


def test_read_keys_see_masked_targets_and_no_answer_text(admin, client, reader, receiver, sqlite_url):
    token = f"tok-{uuid.uuid4().hex}"
    path = f"/masked-{uuid.uuid4().hex[:6]}?token={token}"
    address = f"fiscal.{uuid.uuid4().hex[:6]}@orgao.gov.br"
    hook = admin.post(
        "/api/v1/subscriptions",
        json={"channel": "webhook", "target": f"{receiver.url}{path}", "event_types": ["document.submitted"]},
    ).json()
    mail = admin.post(
        "/api/v1/subscriptions", json={"channel": "email", "target": address, "event_types": ["document.submitted"]}
    ).json()
    receiver.behaviours[path] = Behaviour(fail_times=100, fail_status=500)
    doc = client.post("/api/v1/documents", json=document_data("TR")).json()
    fill_document(sqlite_url, uuid.UUID(doc["id"]), justify=())
    assert client.post(f"/api/v1/documents/{doc['id']}/transitions", json={"to": "em_revisao"}).status_code == 200
    mine = {"document_id": doc["id"]}

    def of(rows, subscription):
        return [n for n in rows if n["subscription_id"] == subscription["id"]]

    (failed,) = wait_for(
        lambda: [n for n in of(admin.get("/api/v1/notifications", params=mine).json()["data"], hook) if n["last_error"]]
    )

    rows = reader.get("/api/v1/notifications", params=mine).json()["data"]
    (seen,), (email,) = of(rows, hook), of(rows, mail)
    assert seen["target"] == f"{receiver.url}/***" and seen["last_error"] is None
    assert seen["last_status_code"] == 500 and token not in str(seen)
    assert email["target"] == "f***@orgao.gov.br" and address not in str(email)
    assert token in failed["target"] and failed["last_error"].startswith("HTTP 500")  # admin sees them
    assert '"status"' not in failed["last_error"]  # the receiver's answer ({"status": 500}) is not kept
    detail = reader.get(f"/api/v1/notifications/{seen['id']}").json()
    assert detail["attempt_log"] and all(a["error"] is None for a in detail["attempt_log"])
    assert token not in str(detail)
    refused = reader.get("/api/v1/notifications", params={"target": "tok-"})
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert admin.get(f"/api/v1/notifications/{seen['id']}").json()["attempt_log"][0]["error"].startswith("HTTP 500")
    for subscription in (hook, mail):
        admin.delete(f"/api/v1/subscriptions/{subscription['id']}")
