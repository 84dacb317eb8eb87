"""A rotation of SECRET_KEY loses no stored secret, on SQLite and PostgreSQL: webhook secrets sealed before v2 (SHA-256
of SECRET_KEY) and with v2 (HKDF) are read with the old key in SECRET_KEY_PREVIOUS, `nexora secrets rotate` seals
them again with the new key (idempotent, with its counts), and the webhooks are then delivered, signed with their
own secrets, by deliver-notifications with the new key alone."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import select

from core import crypto
from core.settings import settings
from flows.deliver_notifications import deliver_notifications
from models.crud import notifications as outbox
from models.crud.documents import transition
from models.db import get_engine, session_scope
from models.enums import DocumentStatus
from models.notification import Channel, DeliveryStatus, Notification, Subscription, SubscriptionCreate
from tests.conftest import PG_ADMIN_URL, ROOT, _drop_database, _migrate_and_seed, _recreate_database
from tests.utils.builders import acting, make_document

pytestmark = pytest.mark.usefixtures("prefect_server")
NEXORA = str(Path(sys.executable).parent / "nexora")
OLD = os.environ["SECRET_KEY"]  # the session's key: the subscriptions are sealed with it
NEW = "chave-nova-da-rotacao-0123456789abcdefgh"


@pytest.fixture(params=["sqlite", "postgresql"])
def own_db(request, tmp_path, monkeypatch):
    """A database of the test's own: the rotation re-seals every row, which the session's servers could not read."""
    name = f"nexora_rotation_{os.getpid()}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rotation.db'}"
    else:
        _recreate_database(name)
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _migrate_and_seed(url)
    monkeypatch.setattr(settings, "DATABASE_URL", url)
    monkeypatch.setattr(outbox, "_committed_listeners", [])  # no delivery runs started behind the test's back
    yield url
    get_engine(url).dispose()
    if request.param == "postgresql":
        _drop_database(name)


def legacy_seal(secret: str, key: str) -> str:
    """A webhook secret sealed as before v2 (the code as it was)."""
    material = b"nexora/webhook-secrets/v1:" + key.encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material).digest())).encrypt(secret.encode()).decode()


def hook(url: str, receiver, path: str, sealed=None) -> str:
    """A webhook subscription to `path` on the receiver; `sealed(secret)` replaces how its secret is stored."""
    target = f"{receiver.url}{path}"
    with session_scope(url) as s:
        row, secret = outbox.create_subscription(
            s, SubscriptionCreate(channel=Channel.WEBHOOK, target=target, event_types=["*"])
        )
        if sealed:
            row.secret_encrypted = sealed(secret)
    receiver.secrets[path] = secret
    return target


def rotate(url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": NEW, "SECRET_KEY_PREVIOUS": OLD}
    return subprocess.run([NEXORA, "secrets", "rotate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def stored(url: str) -> dict[str, str]:
    with session_scope(url) as s:
        return {row.target: row.secret_encrypted for row in s.exec(select(Subscription))}


def test_rotation_keeps_every_stored_secret(own_db, receiver, monkeypatch):
    legacy = hook(own_db, receiver, "/rotacao-v1", sealed=lambda secret: legacy_seal(secret, OLD))
    current = hook(own_db, receiver, "/rotacao-v2")
    lost = hook(own_db, receiver, "/rotacao-perdida", sealed=lambda secret: legacy_seal(secret, "k" * 40))
    before = stored(own_db)

    first = rotate(own_db)
    assert first.returncode == 1, first.stdout + first.stderr  # one secret no key opens: said, and left as it was
    assert "2 segredo(s) selado(s) de novo com a SECRET_KEY atual; 0 já estava(m) com ela" in first.stdout
    with session_scope(own_db) as s:
        lost_id = s.exec(select(Subscription.id).where(Subscription.target == lost)).one()
    assert "1 segredo(s) não abrem" in first.stderr and f"subscriptions {lost_id}" in first.stderr
    after = stored(own_db)
    assert after[lost] == before[lost]
    assert after[legacy] != before[legacy] and after[current] != before[current]
    assert OLD not in first.stdout + first.stderr and NEW not in first.stdout + first.stderr

    again = rotate(own_db)  # idempotent: nothing left to move
    assert "0 segredo(s) selado(s) de novo com a SECRET_KEY atual; 2 já estava(m) com ela" in again.stdout
    assert stored(own_db) == after

    # SECRET_KEY_PREVIOUS removed: the new key alone opens both, and the receivers check each signature
    monkeypatch.setattr(settings, "SECRET_KEY", SecretStr(NEW))
    monkeypatch.setattr(settings, "SECRET_KEY_PREVIOUS", SecretStr(""))
    assert crypto.reseal(after[legacy]) is None and crypto.reseal(after[current]) is None
    with session_scope(own_db) as s:
        s.exec(update(Subscription).where(Subscription.target == lost).values(active=False))
    doc = make_document(own_db)
    with session_scope(own_db) as s:
        transition(s, doc, DocumentStatus.EM_REVISAO, None, acting(s))
    deadline = time.monotonic() + 30
    while True:
        deliver_notifications(max_seconds=10)
        with session_scope(own_db) as s:
            rows = s.exec(select(Notification).where(Notification.target.in_([legacy, current]))).all()
        if len(rows) == 2 and all(r.status == DeliveryStatus.DELIVERED for r in rows):
            break
        assert time.monotonic() < deadline, [(r.target, r.status, r.last_error) for r in rows]
        time.sleep(0.3)
    for path in ("/rotacao-v1", "/rotacao-v2"):
        (got,) = receiver.events(path)
        assert got.signature_ok
