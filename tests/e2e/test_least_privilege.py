"""Least privilege in every answer (issue 21, points 2 and 5), through the API on loopback: /health says only the
status without a key, keys bound to órgãos meet other órgãos' documents as missing, the trace id is the server's,
no server path in an answer, downloads and e-mails survive any numero_processo."""

from __future__ import annotations

import email
import hashlib
import re
import uuid
from email import policy
from urllib.parse import quote

import boto3
import httpx
from sqlmodel import select
from typer.testing import CliRunner

from core.settings import settings
from deployments.api.app import app
from deployments.cli.app import app as cli
from models.artifact import Artifact
from models.db import session_scope
from models.document import Document
from tests.utils.builders import ORGAO, PLANNER, actor, document_data, fill_document, make_key
from tests.utils.ports import free_port
from tests.utils.waiting import wait_for

OTHER_ORGAO = "Ministério da Saúde"


def as_key(api_url: str, key: str | None) -> httpx.Client:
    headers = {**actor(PLANNER), **({"Authorization": f"Bearer {key}"} if key else {})}
    return httpx.Client(base_url=api_url, headers=headers, timeout=120)


# ---------------------------------------------------------------------------------------------------- /health


def test_health_says_only_the_status_without_a_key_and_internals_only_to_admin(api_url, sqlite_url, monkeypatch):
    leak = "RestException: /srv/nexora/var/mlflow/artifacts/7/model.skops: permission denied"
    champion = app.state.champion
    shown = champion.status()
    monkeypatch.setattr(champion, "status", lambda: {**shown, "error": leak})
    read, admin = make_key(sqlite_url, ["read"]), make_key(sqlite_url, ["admin"])
    with as_key(api_url, None) as anonymous, as_key(api_url, read) as reader, as_key(api_url, admin) as operator:
        bare = anonymous.get("/api/v1/health")
        assert bare.status_code == 200 and set(bare.json()) == {"status"} and leak not in bare.text
        assert set(anonymous.get("/api/v1/health", headers={"Authorization": "Bearer nxk_nada"}).json()) == {"status"}
        seen = reader.get("/api/v1/health").json()
        assert seen["database"] == "ok" and "version" in seen["price_model"]
        assert leak not in str(seen) and "chave 'admin'" in seen["price_model"]["error"]
        full = operator.get("/api/v1/health").json()
        assert full["price_model"]["error"] == leak and full["status"] == seen["status"] == bare.json()["status"]


# -------------------------------------------------------------------------------------------------- trace ids


def test_the_trace_id_is_the_servers_and_the_callers_request_id_comes_back_apart(api_url, keys):
    with as_key(api_url, keys["all"]) as client:
        missing = client.get(f"/api/v1/documents/{uuid.uuid4()}", headers={"X-Request-ID": "meu-pedido-1"})
    assert missing.status_code == 404 and missing.headers["X-Request-ID"] == "meu-pedido-1"
    trace = missing.headers["X-Trace-ID"]
    assert trace != "meu-pedido-1" and re.fullmatch(r"[0-9a-f]{32}", trace) and missing.json()["trace_id"] == trace


# ------------------------------------------------------------------------------------------ keys and órgãos


def bound_key_from_the_cli(*orgaos: str) -> str:
    args = ["apikey", "create", f"orgao-{uuid.uuid4().hex[:6]}", "--scope", "read", "--scope", "write"]
    for orgao in orgaos:
        args += ["--orgao", orgao]
    result = CliRunner().invoke(cli, [*args, "--scope", "run"])
    assert result.exit_code == 0, result.output
    assert "órgãos: " + ", ".join(orgaos) in " ".join(result.output.split())
    return result.output.strip().splitlines()[-1]


def test_a_key_bound_to_an_orgao_meets_other_orgaos_documents_as_missing(api_url, keys, sqlite_url, runner):
    tag = uuid.uuid4().hex[:8]
    title = f"Aquisição de estetoscópios {tag}"
    with as_key(api_url, keys["all"]) as unbound:
        mine = unbound.post("/api/v1/documents", json=document_data("ETP", titulo=title)).json()
        other = unbound.post("/api/v1/documents", json=document_data("ETP", titulo=title, orgao=OTHER_ORGAO)).json()
        assert {mine["orgao"], other["orgao"]} == {ORGAO, OTHER_ORGAO}
        assert len(unbound.get("/api/v1/documents/search", params={"q": title}).json()["data"]) == 2
    bound = bound_key_from_the_cli(ORGAO)
    with as_key(api_url, bound) as client:
        assert client.get(f"/api/v1/documents/{mine['id']}").status_code == 200
        # every route with the other órgão's document: the 404 of a document that does not exist
        ghost = uuid.uuid4()
        expected = client.get(f"/api/v1/documents/{ghost}").json()["detail"].replace(str(ghost), other["id"])
        doc = f"/api/v1/documents/{other['id']}"
        for method, path, body in (
            ("GET", doc, None),
            ("PATCH", doc, {"titulo": "Outro título"}),
            ("DELETE", doc, None),
            ("PUT", f"{doc}/fields/descricao_necessidade", {"content": "Texto."}),
            ("POST", f"{doc}/fields/descricao_necessidade/review", None),
            ("POST", f"{doc}/transitions", {"to": "em_revisao"}),
            ("POST", f"{doc}/clone", document_data("ETP")),
            ("POST", f"{doc}/tr", None),
            ("GET", f"{doc}/audit", None),
            ("GET", f"{doc}/fields/history", None),
            ("GET", f"{doc}/artifacts", None),
            ("GET", f"{doc}/signatures", None),
            ("GET", f"{doc}/publications", None),
            ("GET", f"{doc}/price-research", None),
            ("POST", f"{doc}/generate", None),
            ("POST", f"{doc}/consolidate", None),
            ("POST", f"{doc}/versions", None),
            ("POST", "/api/v1/etp/generate-field", {"document_id": other["id"], "field": "descricao_necessidade"}),
        ):
            answer = client.request(method, path, json=body)
            assert answer.status_code == 404 and answer.json()["detail"] == expected, (method, path, answer.text)
        # lists and the search: only its órgãos
        listed = client.get("/api/v1/documents", params={"q": tag}).json()
        assert [d["id"] for d in listed["data"]] == [mine["id"]] and listed["count"] == 1
        assert client.get("/api/v1/documents", params={"orgao": OTHER_ORGAO}).json()["count"] == 0
        found = client.get("/api/v1/documents/search", params={"q": title}).json()
        assert [d["id"] for d in found["data"]] == [mine["id"]] and found["count"] == 1
        # creating in, or moving a document to, another órgão: refused, saying which órgãos the key reaches
        refused = client.post("/api/v1/documents", json=document_data("ETP", orgao=OTHER_ORGAO))
        assert refused.status_code == 403 and ORGAO in refused.json()["detail"]
        moved = client.patch(f"/api/v1/documents/{mine['id']}", json={"orgao": OTHER_ORGAO})
        assert moved.status_code == 403 and client.get(f"/api/v1/documents/{mine['id']}").json()["orgao"] == ORGAO
        assert client.post("/api/v1/documents", json=document_data("ETP")).status_code == 201
    # a run of the other órgão's document is missing too
    with as_key(api_url, keys["all"]) as unbound:
        started = unbound.post(
            "/api/v1/etp/generate-field", json={"document_id": other["id"], "field": "descricao_necessidade"}
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["flow_run_id"]
    with as_key(api_url, bound) as client:
        gone = client.get(f"/api/v1/flow-runs/{run_id}")
        assert gone.status_code == 404 and gone.json()["detail"] == f"Execução {run_id} não encontrada."
    # bound to both: reaches both
    with as_key(api_url, bound_key_from_the_cli(ORGAO, OTHER_ORGAO)) as both:
        assert both.get(f"/api/v1/documents/{other['id']}").status_code == 200
        assert both.get(f"/api/v1/flow-runs/{run_id}").status_code == 200


def test_an_empty_orgao_is_refused_when_the_key_is_created(sqlite_url):
    result = CliRunner().invoke(cli, ["apikey", "create", "vazia", "--orgao", "  "])
    assert result.exit_code != 0 and "Órgão inválido" in result.output


# --------------------------------------------------------------------------- downloads: any numero_processo


PROCESSO = "23000.Ωμέγα-Łódź/2026"  # letters beyond Latin-1: a Content-Disposition of them was a 500


def _register(sqlite_url: str, document_id: str, key: str, uri: str, data: bytes) -> str:
    with session_scope(sqlite_url) as session:
        document = session.get(Document, uuid.UUID(document_id))
        artifact = Artifact(
            document_id=document.id,
            document_version=1,
            format="pdf",
            kind=f"t{uuid.uuid4().hex[:8]}",
            storage_uri=uri,
            key=key,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            template_id=document.template_id,
            template_version=1,
        )
        session.add(artifact)
        session.flush()
        return str(artifact.id)


def _s3_bucket(moto_url: str) -> tuple[object, str]:
    bucket = f"nexora-{free_port()}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
    )
    client.create_bucket(Bucket=bucket)
    return client, bucket


def test_downloads_name_the_file_in_any_script_and_answers_show_no_server_path(
    api_url, keys, sqlite_url, moto_url, monkeypatch
):
    data = b"%PDF-1.7 teste\n"
    with as_key(api_url, keys["all"]) as client:
        doc = client.post("/api/v1/documents", json=document_data("ETP", numero_processo=PROCESSO)).json()
        local_key = f"documents/{doc['id']}/v1/{hashlib.sha256(data).hexdigest()}.pdf"
        path = settings.artifacts_dir / local_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        local = _register(sqlite_url, doc["id"], local_key, path.resolve().as_uri(), data)
        s3, bucket = _s3_bucket(moto_url)
        s3.put_object(Bucket=bucket, Key=local_key, Body=data)
        monkeypatch.setattr(settings, "S3_ENDPOINT_URL", moto_url)
        remote = _register(sqlite_url, doc["id"], local_key, f"s3://{bucket}/{local_key}", data)

        encoded = quote("ETP-23000-Ωμέγα-Łódź-2026-v1.pdf", safe="")
        streamed = client.get(f"/api/v1/artifacts/{local}/download")
        assert streamed.status_code == 200 and streamed.content == data
        assert streamed.headers["content-disposition"] == (
            f"attachment; filename=\"ETP-23000-_____-__d_-2026-v1.pdf\"; filename*=UTF-8''{encoded}"
        )
        redirect = client.get(f"/api/v1/artifacts/{remote}/download")
        assert redirect.status_code == 307
        presigned = httpx.get(redirect.headers["location"])
        assert presigned.status_code == 200 and presigned.content == data, presigned.text[:300]
        assert f"filename*=UTF-8''{encoded}" in presigned.headers["content-disposition"]

        listed = client.get(f"/api/v1/documents/{doc['id']}/artifacts")
        assert (
            listed.status_code == 200
            and "file://" not in listed.text
            and str(settings.artifacts_dir) not in listed.text
        )
        uris = {a["id"]: a["storage_uri"] for a in listed.json()}
        assert uris == {local: f"local:{local_key}", remote: f"s3://{bucket}/{local_key}"}


# ---------------------------------------------------------------------- e-mail: a CR/LF in numero_processo


def test_a_line_break_in_the_numero_processo_does_not_stop_the_emails(api_url, keys, sqlite_url, runner):
    address = f"fiscal-{uuid.uuid4().hex[:6]}@orgao.gov.br"
    with as_key(api_url, keys["admin"]) as admin, as_key(api_url, keys["all"]) as client:
        subscription = admin.post(
            "/api/v1/subscriptions",
            json={"channel": "email", "target": address, "event_types": ["document.submitted"]},
        )
        assert subscription.status_code == 201, subscription.text
        processo = "23000.000123/2026\r\nBcc: todos@exemplo.com"
        doc = client.post("/api/v1/documents", json=document_data("TR", numero_processo=processo))
        assert doc.status_code == 201, doc.text
        fill_document(sqlite_url, uuid.UUID(doc.json()["id"]), justify=())
        moved = client.post(f"/api/v1/documents/{doc.json()['id']}/transitions", json={"to": "em_revisao"})
        assert moved.status_code == 200, moved.text
        (done,) = wait_for(
            lambda: [
                n
                for n in admin.get("/api/v1/notifications", params={"target": address}).json()["data"]
                if n["status"] in ("delivered", "dead")
            ],
            timeout=60,
        )
        assert done["status"] == "delivered", done
        admin.delete(f"/api/v1/subscriptions/{subscription.json()['id']}")
    message = email.message_from_bytes(
        (settings.mail_outbox_dir / f"{done['id']}.eml").read_bytes(), policy=policy.default
    )
    assert message["Subject"] == "[NEXORA] Documento enviado para revisão: TR 23000.000123/2026 Bcc: todos@exemplo.com"
    assert message["Bcc"] is None and message["To"] == address


def test_a_key_bound_to_an_orgao_sees_only_its_orgaos_notifications(api_url, keys, sqlite_url, receiver):
    """The notifications of another órgão's events, or of an event of no órgão (a run that failed outside any
    document), are not listed for a bound key, and reading or re-driving one answers as if it did not exist."""
    from models.crud import notifications as events
    from models.notification import Notification, Subscription

    tag = uuid.uuid4().hex[:8]
    with session_scope(sqlite_url) as session:
        hook = Subscription(channel="webhook", target=f"{receiver.url}/orgaos-{tag}", event_types=["*"], active=True)
        session.add(hook)
        session.flush()
        ids = {}
        for orgao in (ORGAO, OTHER_ORGAO, None):
            event = events.record_event(session, "flow_run.failed", orgao=orgao, data={"tag": tag})
            (ids[orgao],) = session.exec(select(Notification.id).where(Notification.event_id == event.id)).all()
        hook.active = False  # no other test's event reaches it
        session.add(hook)
    mine = {"subscription_id": str(hook.id)}
    with as_key(api_url, keys["all"]) as unbound:
        assert unbound.get("/api/v1/notifications", params=mine).json()["count"] == 3
    bound = make_key(sqlite_url, ["read", "admin"], name=f"bound-{tag}", orgaos=[ORGAO.upper()])
    with as_key(api_url, bound) as client:
        listed = client.get("/api/v1/notifications", params=mine).json()
        assert [n["id"] for n in listed["data"]] == [str(ids[ORGAO])] and listed["count"] == 1
        assert client.get(f"/api/v1/notifications/{ids[ORGAO]}").status_code == 200
        for orgao in (OTHER_ORGAO, None):
            for method, path in (("GET", ""), ("POST", "/retry")):
                answer = client.request(method, f"/api/v1/notifications/{ids[orgao]}{path}")
                assert answer.status_code == 404, (orgao, method, answer.text)
                assert answer.json()["detail"] == f"Notificação {ids[orgao]} não encontrada."
