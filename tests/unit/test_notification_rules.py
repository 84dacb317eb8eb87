"""Pure pieces of notifications: the signature check of docs/api.md, back-off, Retry-After, redaction, target rules."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core import netguard
from core.settings import settings
from models.crud.notifications import Job, backoff_seconds
from models.events import check_event_types
from models.notification import Channel
from tasks.notify import messages
from tasks.notify.delivery import redact, retry_after_seconds
from tests.conftest import ROOT


def job(**overrides) -> Job:
    values = {
        "notification_id": uuid.uuid4(),
        "attempt": 1,
        "max_attempts": 8,
        "channel": Channel.WEBHOOK,
        "target": "https://x.gov.br/h",
        "secret_sealed": None,
        "event_id": uuid.uuid4(),
        "event_type": "document.approved",
        "occurred_at": datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        "orgao": "Ministério da Saúde",
        "document_id": uuid.uuid4(),
        "data": {"kind": "ETP", "numero_processo": "25000.1/2026-01", "titulo": "Aquisição de insumos"},
    }
    return Job(**{**values, **overrides})


def readme_verify():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    code = re.search(r"A receiver checks it like this.*?```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)
    return namespace["verify"]


def test_the_documented_receiver_check_accepts_our_signature_and_nothing_else():
    verify = readme_verify()
    item, secret = job(), "whsec_teste"
    body, stamp = messages.webhook_body(item), str(int(time.time()))
    headers = messages.webhook_headers(item, secret, body, stamp)
    assert verify(secret, headers["X-Nexora-Timestamp"], body, headers["X-Nexora-Signature"])
    assert not verify("outro", stamp, body, headers["X-Nexora-Signature"])
    assert not verify(secret, stamp, body.replace(b"ETP", b"TR"), headers["X-Nexora-Signature"])
    old = str(int(time.time()) - 3600)
    assert not verify(secret, old, body, messages.sign(secret, old, body))
    assert headers["Idempotency-Key"] == str(item.event_id)


def test_backoff_grows_with_jitter_and_honours_retry_after(monkeypatch):
    monkeypatch.setattr(settings, "NOTIFY_RETRY_BASE_SECONDS", 30.0)
    monkeypatch.setattr(settings, "NOTIFY_RETRY_MAX_SECONDS", 3600.0)
    first = [backoff_seconds(1) for _ in range(200)]
    assert min(first) >= 15 and max(first) <= 30 and len(set(first)) > 100
    assert all(120 <= backoff_seconds(4) <= 240 for _ in range(50))
    assert all(backoff_seconds(20) <= 3600 for _ in range(50))
    assert backoff_seconds(1, retry_after=900) >= 900


def test_retry_after_in_seconds_or_http_date():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300
    assert retry_after_seconds("amanhã") is None and retry_after_seconds(None) is None


def test_redaction_removes_secrets_and_credentials(monkeypatch):
    from pydantic import SecretStr

    monkeypatch.setattr(settings, "SMTP_PASSWORD", SecretStr("senha-do-smtp"))
    assert redact("falha com whsec_abc e senha-do-smtp", "whsec_abc") == "falha com *** e ***"


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]:8080/h",
        "http://[::ffff:10.0.0.1]/h",
        "http://169.254.169.254/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "http://localhost/h",
    ],
)
def test_internal_targets_are_refused(url, monkeypatch):
    monkeypatch.setattr(settings, "WEBHOOK_ALLOWED_NETWORKS", "")
    with pytest.raises(netguard.UnsafeTarget):
        netguard.check_webhook_target(url)


def test_allow_list_opens_a_network_only(monkeypatch):
    monkeypatch.setattr(settings, "WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    netguard.check_webhook_target("http://127.0.0.1:9000/hook")
    with pytest.raises(netguard.UnsafeTarget):
        netguard.check_webhook_target("http://10.0.0.5/hook")
    with pytest.raises(netguard.UnresolvableTarget):
        netguard.check_webhook_target("https://nao-existe.invalid/hook")


def test_the_host_is_read_as_the_http_client_sends_it():
    assert netguard.check_url_shape("http://Straße.Example/x") == ("xn--strae-oqa.example", 80)  # IDNA2008
    assert netguard.check_url_shape("https://xn--strae-oqa.example:8443/x") == ("xn--strae-oqa.example", 8443)
    for url, reason in (
        ("http://ｅｘａｍｐｌｅ.com/x", "IDNA2008"),  # IDNA2003 would map it to example.com; httpx refuses it
        ("http://☃.net/x", "IDNA2008"),
        ("http://a.gov.br\\@127.0.0.1/x", "credenciais"),  # httpx reads 'a.gov.br\\' as a user name
    ):
        with pytest.raises(netguard.UnsafeTarget, match=reason):
            netguard.check_url_shape(url)


def test_every_address_is_vetted_from_one_resolution(monkeypatch):
    monkeypatch.setattr(settings, "WEBHOOK_ALLOWED_NETWORKS", "")
    asked = []
    answers = {
        "pub.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "mixed.example": ["93.184.215.14", "10.1.2.3"],
    }

    def resolve(host, port):
        asked.append(host)
        return answers.get(host, [])

    monkeypatch.setattr(netguard, "resolve", resolve)
    assert netguard.vetted_addresses("pub.example", 443) == answers["pub.example"]
    with pytest.raises(netguard.UnsafeTarget, match="endereço interno 10.1.2.3"):
        netguard.vetted_addresses("mixed.example", 443)
    with pytest.raises(netguard.UnresolvableTarget):
        netguard.vetted_addresses("empty.example", 443)
    assert asked == ["pub.example", "mixed.example", "empty.example"]


def test_the_webhook_transport_connects_through_the_vetted_backend():
    import httpx

    from tasks.notify import egress

    transport = egress.VettedTransport(httpx.Limits(max_connections=2))
    assert isinstance(transport._pool._network_backend, egress.VettedBackend)  # an httpx upgrade must not drop it


@pytest.mark.parametrize(
    ("channel", "target", "shown"),
    [
        (Channel.WEBHOOK, "https://hooks.slack.com/services/T0/B0/segredo", "https://***.slack.com/***"),
        (Channel.WEBHOOK, "https://a1b2c3.m.pipedream.net", "https://***.m.pipedream.net/***"),
        (Channel.WEBHOOK, "http://127.0.0.1:8080/h?token=segredo", "http://127.0.0.1:8080/***"),
        (Channel.WEBHOOK, "https://orgao.gov.br/h/segredo", "https://***.gov.br/***"),
        (Channel.WEBHOOK, "https://exemplo.com/h/segredo", "https://exemplo.com/***"),
        (Channel.WEBHOOK, "http://[::1/h", "***"),
        (Channel.EMAIL, "fiscal.contratos@orgao.gov.br", "f***@orgao.gov.br"),
    ],
)
def test_targets_are_masked_for_keys_without_admin(channel, target, shown):
    from models.notification import masked_target

    assert masked_target(channel, target) == shown


def test_answer_reasons_are_ours():
    from tasks.notify.delivery import answer_reason

    assert "redirecionamento" in answer_reason(302) and "tentar mais tarde" in answer_reason(429)
    assert "autenticação" in answer_reason(401) and "nova tentativa" in answer_reason(503)


def test_event_types_are_checked():
    assert check_event_types(["document.approved", "*", "document.approved"]) == ["document.approved", "*"]
    with pytest.raises(ValueError, match="Tipos válidos"):
        check_event_types(["document.deleted"])


def test_email_is_portuguese_with_both_parts_and_the_link(monkeypatch):
    monkeypatch.setattr(settings, "PUBLIC_BASE_URL", "https://nexora.orgao.gov.br")
    item = job(
        channel=Channel.EMAIL,
        target="fiscal@orgao.gov.br",
        event_type="consolidation.failed",
        data={"kind": "TR", "numero_processo": "25000.9/2026-77", "error": "storage fora do ar <500>"},
    )
    message = messages.email_message(item)
    assert message["Subject"] == "[NEXORA] Falha na consolidação: TR 25000.9/2026-77"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"https://nexora.orgao.gov.br/api/v1/documents/{item.document_id}"
    assert link in text and link in html and "Ministério da Saúde" in text
    assert "storage fora do ar &lt;500&gt;" in html and "<500>" in text
