"""Notifications against real parts: the outbox on SQLite and PostgreSQL, deliver-notifications as a Prefect flow
run, webhooks to a loopback receiver that checks signatures, SMTP to aiosmtpd, SES to moto_server.

Faults come from outside: receivers answering 500/410/429 or hanging, the mail server down for a while, the
delivery process killed mid-batch, the database refusing connections in the middle of a delivery.
"""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from email import policy

import boto3
import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text, update
from sqlmodel import select

from core import crypto
from core.settings import settings
from flows.deliver_notifications import deliver_notifications
from models.crud import notifications as outbox
from models.crud.documents import transition
from models.db import session_scope, utcnow
from models.document import Document
from models.enums import DocumentStatus
from models.errors import InvalidError
from models.notification import (
    Channel,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    Notification,
    Subscription,
    SubscriptionCreate,
)
from models.rules import IncompleteDocumentError
from tests.conftest import PG_ADMIN_URL, PG_DB, ROOT, TMP, _migrate_and_seed
from tests.servers.webhook import Behaviour
from tests.utils.builders import AUTHORITY, PLANNER, acting, make_document
from tests.utils.ports import free_port

pytestmark = pytest.mark.usefixtures("prefect_server")
QUEUED = [DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING]


@pytest.fixture(scope="session")
def outbox_sqlite_url():
    """A SQLite database of its own: the e2e runner (on the session's SQLite) never claims these rows."""
    url = f"sqlite:///{TMP / 'data' / 'outbox.db'}"
    _migrate_and_seed(url)
    return url


# A channel's behaviour (retries, time-outs, SMTP, SES, what reaches the logs) does not depend on the database, which
# only stores its outcome: those tests run on SQLite alone. The claim, the lease, the outbox and the dead letters run
# on both (row locks and SKIP LOCKED are PostgreSQL's own).
CHANNEL_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, monkeypatch):
    url = request.getfixturevalue("outbox_sqlite_url" if request.param == "sqlite" else "pg_url")
    monkeypatch.setattr(settings, "DATABASE_URL", url)
    monkeypatch.setattr(outbox, "_committed_listeners", [])  # no delivery runs started behind the test's back
    yield url
    with session_scope(url) as s:
        s.exec(update(Subscription).values(active=False))
        s.exec(update(Notification).where(Notification.status.in_(QUEUED)).values(status=DeliveryStatus.DEAD))


def subscribe(url, channel, target, events=("*",), orgao=None) -> tuple[uuid.UUID, str | None]:
    with session_scope(url) as s:
        row, secret = outbox.create_subscription(
            s, SubscriptionCreate(channel=channel, target=target, event_types=list(events), orgao=orgao)
        )
        return row.id, secret


def hook(receiver, path, events=("*",), **behaviour) -> str:
    """A webhook subscription to `path` on the receiver, which learns its secret."""
    target = f"{receiver.url}{path}"
    _, secret = subscribe(settings.DATABASE_URL, Channel.WEBHOOK, target, events)
    receiver.secrets[path] = secret
    if behaviour:
        receiver.behaviours[path] = Behaviour(**behaviour)
    return target


def submit(url, **overrides) -> uuid.UUID:
    """A new ETP sent for review: one document.submitted event."""
    doc = make_document(url, **overrides)
    with session_scope(url) as s:
        transition(s, doc, DocumentStatus.EM_REVISAO, None, acting(s))
    return doc


def notifications(url, target) -> list[Notification]:
    with session_scope(url) as s:
        return list(
            s.exec(select(Notification).where(Notification.target == target).order_by(Notification.created_at)).all()
        )


def attempts(url, notification_id) -> list[DeliveryAttempt]:
    with session_scope(url) as s:
        return list(
            s.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.notification_id == notification_id)
                .order_by(DeliveryAttempt.number)
            ).all()
        )


def deliver_until(url, target, done, timeout=30):
    """Run deliver-notifications until `done(rows)` holds for the target's notifications."""
    deadline = time.monotonic() + timeout
    while True:
        deliver_notifications(max_seconds=10)
        rows = notifications(url, target)
        if done(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"not done after {timeout} s: {[(r.status, r.last_error) for r in rows]}")
        time.sleep(0.3)


def all_delivered(rows):
    return rows and all(r.status == DeliveryStatus.DELIVERED for r in rows)


# Outbox


def test_event_is_written_with_the_change_and_fanned_out_to_matching_subscriptions(db, receiver):
    orgao = f"Ministério de Teste {uuid.uuid4().hex[:6]}"
    submitted = hook(receiver, "/fan-a", ["document.submitted"])
    subscribe(db, Channel.EMAIL, "aprovacoes@orgao.gov.br", ["document.approved"])
    other_orgao = f"{receiver.url}/fan-c"
    subscribe(db, Channel.WEBHOOK, other_orgao, ["*"], orgao="Outro Órgão")
    same_orgao = f"{receiver.url}/fan-d"
    subscribe(db, Channel.WEBHOOK, same_orgao, ["document.submitted"], orgao=orgao.upper())
    doc = submit(db, orgao=orgao)
    with session_scope(db) as s:
        events = s.exec(select(Event).where(Event.document_id == doc)).all()
        assert [e.type for e in events] == ["document.submitted"]
        assert events[0].data["numero_processo"] and events[0].data["from_status"] == "rascunho"
        fanned = {n.target for n in s.exec(select(Notification).where(Notification.event_id == events[0].id))}
    assert fanned == {submitted, same_orgao}

    with pytest.raises(IncompleteDocumentError), session_scope(db) as s:  # approval refused: no event
        transition(s, doc, DocumentStatus.APROVADO, "Aprovo.", acting(s, AUTHORITY))
    with pytest.raises(RuntimeError), session_scope(db) as s:  # the change rolled back: its event too
        outbox.record_document_event(s, "document.approved", s.get(Document, doc))
        raise RuntimeError("falha depois do evento")
    with session_scope(db) as s:
        assert [e.type for e in s.exec(select(Event).where(Event.document_id == doc))] == ["document.submitted"]


def test_subscription_validation(db, monkeypatch):
    with session_scope(db) as s:
        for data, needle in (
            (SubscriptionCreate(channel=Channel.EMAIL, target="sem-arroba", event_types=["*"]), "E-mail inválido"),
            (
                SubscriptionCreate(channel=Channel.EMAIL, target="a@b.gov.br", event_types=["document.lost"]),
                "tipo de evento desconhecido",
            ),
            (
                SubscriptionCreate(channel=Channel.WEBHOOK, target="ftp://exemplo.gov.br/x", event_types=["*"]),
                "http(s)",
            ),
            (
                SubscriptionCreate(
                    channel=Channel.WEBHOOK, target="https://user:pw@exemplo.gov.br/x", event_types=["*"]
                ),
                "credenciais",
            ),
            (
                SubscriptionCreate(channel=Channel.WEBHOOK, target="http://169.254.169.254/latest", event_types=["*"]),
                "endereço interno",
            ),
            (
                SubscriptionCreate(channel=Channel.WEBHOOK, target="http://10.1.2.3/hook", event_types=["*"]),
                "endereço interno",
            ),
        ):
            with pytest.raises(InvalidError, match=needle.replace("(", r"\(").replace(")", r"\)")):
                outbox.create_subscription(s, data)
        monkeypatch.setattr(settings, "ENVIRONMENT", "production")
        with pytest.raises(InvalidError, match="https"):
            outbox.create_subscription(
                s, SubscriptionCreate(channel=Channel.WEBHOOK, target="http://127.0.0.1:9/x", event_types=["*"])
            )


# Webhooks


def test_webhook_is_signed_and_delivered_once(db, receiver):
    target = hook(receiver, "/ok")
    doc = submit(db)
    summary = deliver_notifications(max_seconds=10)
    assert summary["delivered"] >= 1
    (got,) = receiver.events("/ok")
    assert got.signature_ok
    assert got.body["type"] == "document.submitted" and got.body["document_id"] == str(doc)
    assert got.event_id == got.body["id"] == got.headers["x-nexora-event-id"]
    assert got.body["data"]["kind"] == "ETP" and got.body["occurred_at"].endswith("+00:00")
    (row,) = notifications(db, target)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    (attempt,) = attempts(db, row.id)
    assert attempt.outcome == "delivered" and attempt.status_code == 200 and attempt.latency_ms > 0


@CHANNEL_ONLY
def test_5xx_is_retried_with_backoff_until_delivered(db, receiver):
    target = hook(receiver, "/flaky", fail_times=2, fail_status=500)
    submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, target)
    assert row.status == DeliveryStatus.RETRYING and row.last_status_code == 500
    assert row.last_error.startswith("HTTP 500") and row.next_attempt_at > row.updated_at  # backed off
    (row,) = deliver_until(db, target, all_delivered)
    assert [a.outcome for a in attempts(db, row.id)] == ["retry", "retry", "delivered"]
    assert len(receiver.unique_events("/flaky")) == 1


def test_other_4xx_is_final_and_a_dead_letter_can_be_redriven(db, receiver):
    target = hook(receiver, "/gone", status=410)
    submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, target)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DEAD, 1, 410)
    assert "HTTP 410" in row.last_error
    receiver.behaviours["/gone"] = Behaviour(status=200)
    with session_scope(db) as s:
        again = outbox.redrive(s, row.id)
        assert again.status == DeliveryStatus.PENDING and again.max_attempts == 1 + settings.NOTIFY_MAX_ATTEMPTS
    (row,) = deliver_until(db, target, all_delivered)
    assert [a.outcome for a in attempts(db, row.id)] == ["dead", "delivered"]
    with pytest.raises(Exception, match="já foi entregue"), session_scope(db) as s:
        outbox.redrive(s, row.id)


@CHANNEL_ONLY
def test_429_retry_after_is_honoured(db, receiver):
    target = hook(receiver, "/busy", fail_times=1, fail_status=429, retry_after="120")
    submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, target)
    assert row.status == DeliveryStatus.RETRYING and row.last_status_code == 429
    assert row.next_attempt_at - utcnow() > timedelta(seconds=110)


@CHANNEL_ONLY
def test_hanging_receiver_times_out_and_is_retried(db, receiver):
    target = hook(receiver, "/hang", hang_seconds=settings.NOTIFY_TIMEOUT_SECONDS + 1)
    submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, target)
    assert row.status == DeliveryStatus.RETRYING and "tempo esgotado" in row.last_error
    (attempt,) = attempts(db, row.id)
    assert attempt.latency_ms >= settings.NOTIFY_TIMEOUT_SECONDS * 1000 * 0.9


def test_attempts_exhausted_go_dead_then_all_dead_are_redriven(db, receiver):
    target = hook(receiver, "/down", fail_times=100, fail_status=503)
    submit(db)
    (row,) = deliver_until(db, target, lambda rows: rows[0].status == DeliveryStatus.DEAD)
    assert row.attempts == settings.NOTIFY_MAX_ATTEMPTS
    assert [a.outcome for a in attempts(db, row.id)][-1] == "dead"
    receiver.behaviours["/down"] = Behaviour()
    with session_scope(db) as s:
        assert outbox.redrive_dead(s) >= 1
    deliver_until(db, target, all_delivered)


def test_target_turned_internal_is_refused_at_delivery(db, receiver, monkeypatch):
    target = hook(receiver, "/moved")
    submit(db)
    monkeypatch.setattr(settings, "WEBHOOK_ALLOWED_NETWORKS", "")
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, target)
    assert row.status == DeliveryStatus.DEAD and "endereço interno 127.0.0.1" in row.last_error
    assert receiver.events("/moved") == []


@CHANNEL_ONLY
def test_secrets_stay_out_of_records_and_logs(db, receiver, caplog):
    target = hook(receiver, "/secret", fail_times=1, fail_status=500)
    secret = receiver.secrets["/secret"]
    submit(db)
    deliver_until(db, target, all_delivered)
    with session_scope(db) as s:
        stored = s.exec(select(Subscription).where(Subscription.target == target)).one().secret_encrypted
        texts = [r.last_error or "" for r in s.exec(select(Notification))] + [
            a.error or "" for a in s.exec(select(DeliveryAttempt))
        ]
    assert secret not in stored and crypto.unseal(stored) == secret
    assert not any(secret in t for t in texts)
    assert secret not in caplog.text


# E-mail


@CHANNEL_ONLY
def test_email_file_backend_writes_portuguese_message_with_link(db):
    address = f"fiscal.{uuid.uuid4().hex[:6]}@orgao.gov.br"
    subscribe(db, Channel.EMAIL, address, ["document.submitted"])
    doc = submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, address)
    assert row.status == DeliveryStatus.DELIVERED
    message = email.message_from_bytes((settings.mail_outbox_dir / f"{row.id}.eml").read_bytes(), policy=policy.default)
    assert message["To"] == address and message["Subject"].startswith("[NEXORA] Documento enviado para revisão")
    text_part = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    assert f"/api/v1/documents/{doc}" in text_part and f"/api/v1/documents/{doc}" in html_part
    assert "Órgão" in text_part and "Processo" in text_part


class Inbox:
    def __init__(self, refuse: str | None = None):
        self.messages, self.refuse = [], refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and address == self.refuse:
            return "550 5.1.1 Caixa postal inexistente"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch):
    port = free_port()
    monkeypatch.setattr(settings, "EMAIL_BACKEND", "smtp")
    monkeypatch.setattr(settings, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setattr(settings, "SMTP_PORT", port)
    monkeypatch.setattr(settings, "SMTP_STARTTLS", False)
    controllers = []

    def start(inbox: Inbox) -> Inbox:
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return inbox

    yield start
    for controller in controllers:
        controller.stop()


@CHANNEL_ONLY
def test_smtp_down_for_a_while_then_delivered(db, smtp):
    address = f"gestor.{uuid.uuid4().hex[:6]}@orgao.gov.br"
    subscribe(db, Channel.EMAIL, address, ["document.submitted"])
    submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, address)
    assert row.status == DeliveryStatus.RETRYING and "SMTP indisponível" in row.last_error
    inbox = smtp(Inbox())
    deliver_until(db, address, all_delivered)
    (message,) = [m for m in inbox.messages if m["To"] == address]
    assert message["Subject"].startswith("[NEXORA] Documento enviado para revisão")
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None


@CHANNEL_ONLY
def test_smtp_permanent_refusal_is_dead(db, smtp):
    address = f"inexistente.{uuid.uuid4().hex[:6]}@orgao.gov.br"
    smtp(Inbox(refuse=address))
    subscribe(db, Channel.EMAIL, address, ["document.submitted"])
    submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, address)
    assert (row.status, row.last_status_code) == (DeliveryStatus.DEAD, 550)
    assert "Caixa postal inexistente" in row.last_error


def certificate(folder) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (the test's own CA), as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@CHANNEL_ONLY
def test_smtp_starttls_with_credentials_and_a_wrong_password(db, tmp_path, monkeypatch, caplog):
    import ssl

    cert_file, key_file = certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    port = free_port()
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_callback=lambda mechanism, user, password: (user, password) == (b"relay", b"s3nha-do-relay"),
    )
    controller.start()
    try:
        for name, value in (
            ("EMAIL_BACKEND", "smtp"),
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", port),
            ("SMTP_STARTTLS", True),
            ("SMTP_CA_FILE", cert_file),
            ("SMTP_USERNAME", "relay"),
        ):
            monkeypatch.setattr(settings, name, value)
        from pydantic import SecretStr

        monkeypatch.setattr(settings, "SMTP_PASSWORD", SecretStr("senha-errada-123"))
        address = f"tls.{uuid.uuid4().hex[:6]}@orgao.gov.br"
        subscribe(db, Channel.EMAIL, address, ["document.submitted"])
        submit(db)
        deliver_notifications(max_seconds=10)
        (row,) = notifications(db, address)
        assert (row.status, row.last_status_code) == (DeliveryStatus.DEAD, 535)
        assert "senha-errada-123" not in row.last_error and "senha-errada-123" not in caplog.text
        monkeypatch.setattr(settings, "SMTP_PASSWORD", SecretStr("s3nha-do-relay"))
        with session_scope(db) as s:
            outbox.redrive(s, row.id)
        deliver_until(db, address, all_delivered)
        assert [m["To"] for m in inbox.messages] == [address]
    finally:
        controller.stop()


@CHANNEL_ONLY
def test_ses_through_moto(db, moto_url, monkeypatch):
    sender = "notificacoes@nexora.gov.br"
    boto3.client("ses", endpoint_url=moto_url, region_name="us-east-1").verify_email_identity(EmailAddress=sender)
    monkeypatch.setattr(settings, "EMAIL_BACKEND", "ses")
    monkeypatch.setattr(settings, "SES_ENDPOINT_URL", moto_url)
    monkeypatch.setattr(settings, "SES_REGION", "us-east-1")
    monkeypatch.setattr(settings, "SES_SENDER_EMAIL", sender)
    address = f"ses.{uuid.uuid4().hex[:6]}@orgao.gov.br"
    subscribe(db, Channel.EMAIL, address, ["document.submitted"])
    doc = submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, address)
    assert (row.status, row.last_status_code) == (DeliveryStatus.DELIVERED, 200)
    sent = httpx.get(f"{moto_url}/moto-api/data.json").json()["ses"]["Message"]
    (message,) = [m for m in sent if address in json.dumps(m)]
    assert "Documento enviado para revisão" in json.dumps(message, ensure_ascii=False)
    assert str(doc) in json.dumps(message)


@CHANNEL_ONLY
def test_unverified_ses_sender_is_dead_with_the_reason(db, moto_url, monkeypatch):
    monkeypatch.setattr(settings, "EMAIL_BACKEND", "ses")
    monkeypatch.setattr(settings, "SES_ENDPOINT_URL", moto_url)
    monkeypatch.setattr(settings, "SES_REGION", "us-east-1")
    monkeypatch.setattr(settings, "SES_SENDER_EMAIL", f"nao-verificado.{uuid.uuid4().hex[:6]}@nexora.gov.br")
    address = f"ses.{uuid.uuid4().hex[:6]}@orgao.gov.br"
    subscribe(db, Channel.EMAIL, address, ["document.submitted"])
    submit(db)
    deliver_notifications(max_seconds=10)
    (row,) = notifications(db, address)
    assert row.status == DeliveryStatus.DEAD and row.last_error.startswith("SES MessageRejected")


# Nothing lost


def test_concurrent_claims_never_share_a_row(db, receiver):
    target = hook(receiver, "/claims")
    with session_scope(db) as s:
        for _ in range(60):
            outbox.record_event(s, "document.approved", data={"n": 1})
    mine = {n.id for n in notifications(db, target)}
    claimed: list[uuid.UUID] = []
    lock = threading.Lock()

    def worker():
        while True:
            with session_scope(db) as s:
                jobs = outbox.claim(s, 7)
            if not jobs:
                return
            with lock:
                claimed.extend(j.notification_id for j in jobs)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ours = [c for c in claimed if c in mine]
    assert len(ours) == len(set(ours)) == 60


def test_delivery_killed_mid_batch_loses_nothing(db, receiver):
    target = hook(receiver, "/slow", delay_seconds=0.3)
    with session_scope(db) as s:
        events = {str(outbox.record_event(s, "document.approved", data={"n": n}).id) for n in range(20)}
    env = {**os.environ, "DATABASE_URL": db, "NOTIFY_CONCURRENCY": "2"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from flows.deliver_notifications import deliver_notifications;deliver_notifications(max_seconds=60)",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while len(receiver.events("/slow")) < 4:
        assert time.monotonic() < deadline and process.poll() is None, "the delivery run never got going"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    rows = notifications(db, target)
    assert any(r.status == DeliveryStatus.SENDING for r in rows)  # held by the dead run until the lease ends
    receiver.behaviours["/slow"] = Behaviour()
    deliver_until(db, target, all_delivered, timeout=60)
    assert receiver.unique_events("/slow") == events  # each event processed once by a deduplicating receiver
    assert len(receiver.events("/slow")) >= len(events)


def test_database_refusing_connections_mid_delivery_loses_nothing(pg_url, receiver, monkeypatch):
    monkeypatch.setattr(settings, "DATABASE_URL", pg_url)
    monkeypatch.setattr(outbox, "_committed_listeners", [])
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def outage():
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{PG_DB}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": PG_DB},
            )
        threading.Timer(2.0, back).start()

    def back():
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{PG_DB}" ALLOW_CONNECTIONS true'))

    try:
        target = hook(receiver, "/outage", on_request=outage)
        submit(pg_url)
        summary = deliver_notifications(max_seconds=30)
        assert summary["delivered"] >= 1
        (row,) = notifications(pg_url, target)
        assert row.status == DeliveryStatus.DELIVERED
        assert len(receiver.unique_events("/outage")) == 1
    finally:
        back()
        admin.dispose()
        with session_scope(pg_url) as s:
            s.exec(update(Subscription).values(active=False))


# Failure events from the flows' hooks


def test_failed_generation_and_consolidation_raise_events(db, llm):
    from flows.consolidate_document import consolidate_document
    from flows.generate_field import generate_field

    address = f"falhas.{uuid.uuid4().hex[:6]}@orgao.gov.br"
    subscribe(db, Channel.EMAIL, address, ["generation.failed", "consolidation.failed"])
    llm.set(mode="status", status=401)
    doc = make_document(db)
    drafting = generate_field(doc, "descricao_necessidade", PLANNER, return_state=True)
    assert drafting.is_failed()
    consolidation = consolidate_document(doc, return_state=True)  # a rascunho does not consolidate
    assert consolidation.is_failed()
    with session_scope(db) as s:
        events = {e.type: e for e in s.exec(select(Event).where(Event.document_id == doc))}
    assert set(events) == {"generation.failed", "consolidation.failed"}
    assert "AuthenticationError" in events["generation.failed"].data["error"]
    assert events["consolidation.failed"].data["flow_run_id"] == str(consolidation.state_details.flow_run_id)
    assert "carregar documento" in events["consolidation.failed"].data["error"]
    assert {n.event_type for n in notifications(db, address)} == set(events)
