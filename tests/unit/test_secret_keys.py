"""One key per use, derived from SECRET_KEY with HKDF; sealed secrets survive a rotation of SECRET_KEY and the change
of derivation (v1: SHA-256 of a prefix and SECRET_KEY)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from core import crypto
from core.settings import settings
from tasks.pncp.parse import mask_person

OLD = "chave-antiga-0123456789-abcdefghijklmnop"
NEW = "chave-nova-9876543210-zyxwvutsrqponmlkji"


@pytest.fixture
def keys(monkeypatch):
    """Set SECRET_KEY, SECRET_KEY_PREVIOUS and PSEUDONYM_KEY of the running settings."""

    def use(current: str, previous: str = "", pseudonyms: str | None = None) -> None:
        monkeypatch.setattr(settings, "SECRET_KEY", SecretStr(current))
        monkeypatch.setattr(settings, "SECRET_KEY_PREVIOUS", SecretStr(previous))
        monkeypatch.setattr(settings, "PSEUDONYM_KEY", SecretStr(pseudonyms) if pseudonyms else None)

    return use


def legacy_seal(secret: str, key: str) -> str:
    """How a webhook secret was sealed before v2 (the code as it was), to check that what is stored still opens."""
    material = b"nexora/webhook-secrets/v1:" + key.encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material).digest())).encrypt(secret.encode()).decode()


def only(key: str) -> Fernet:
    """The sealing key of `key` alone."""
    return Fernet(base64.urlsafe_b64encode(crypto.derive_key(key, crypto.SEALING)))


def test_each_use_has_its_own_key(keys):
    keys(NEW)
    sealing = crypto.derive_key(NEW, crypto.SEALING)
    pseudonyms = crypto.pseudonym_key()
    assert len(sealing) == len(pseudonyms) == 32
    assert len({sealing, pseudonyms, NEW.encode(), hashlib.sha256(NEW.encode()).digest()}) == 4
    assert crypto.derive_key(NEW, crypto.SEALING) == sealing  # the same on every host
    assert crypto.derive_key(OLD, crypto.SEALING) != sealing
    assert NEW.encode() not in sealing + pseudonyms


def test_a_secret_is_sealed_with_the_derived_key(keys):
    keys(NEW)
    token = crypto.seal("whsec_x")
    assert only(NEW).decrypt(token.encode()) == b"whsec_x"
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"nexora/webhook-secrets/v1:" + NEW.encode()).digest()))
    with pytest.raises(InvalidToken):
        legacy.decrypt(token.encode())


def test_a_secret_sealed_before_v2_still_opens_and_is_moved_to_the_derived_key(keys):
    keys(OLD)
    stored = legacy_seal("whsec_antigo", OLD)
    assert crypto.unseal(stored) == "whsec_antigo"
    fresh = crypto.reseal(stored)
    assert fresh and only(OLD).decrypt(fresh.encode()) == b"whsec_antigo"
    assert crypto.reseal(fresh) is None  # already under the current key


def test_rotation_previous_keys_open_the_current_one_seals(keys):
    keys(OLD)
    sealed_before = crypto.seal("whsec_1")
    legacy_before = legacy_seal("whsec_2", OLD)
    keys(NEW, previous=f"outra-chave-que-nao-serve-para-nada-00,{OLD}")
    assert crypto.unseal(sealed_before) == "whsec_1" and crypto.unseal(legacy_before) == "whsec_2"
    new = crypto.seal("whsec_3")
    assert only(NEW).decrypt(new.encode()) == b"whsec_3"
    moved = [crypto.reseal(token) for token in (sealed_before, legacy_before)]
    assert [only(NEW).decrypt(token.encode()) for token in moved if token] == [b"whsec_1", b"whsec_2"]
    assert crypto.reseal(new) is None
    keys(NEW)  # SECRET_KEY_PREVIOUS removed once everything is re-sealed
    assert [crypto.unseal(token) for token in moved if token] == ["whsec_1", "whsec_2"]
    with pytest.raises(crypto.SecretUnreadable, match="SECRET_KEY_PREVIOUS"):
        crypto.unseal(sealed_before)
    with pytest.raises(crypto.SecretUnreadable):
        crypto.reseal(sealed_before)


def test_pseudonyms_follow_pseudonym_key_when_set_else_secret_key(keys):
    keys(OLD)
    before = mask_person("123.456.789-09")
    assert before.startswith("pf:") and "12345678909" not in before and before == mask_person("12345678909")
    keys(NEW, previous=OLD)
    assert mask_person("123.456.789-09") != before  # derived from SECRET_KEY: a rotation starts new pseudonyms
    keys(OLD, pseudonyms="chave-dos-pseudonimos-0123456789abcdef")
    pinned = mask_person("123.456.789-09")
    keys(NEW, previous=OLD, pseudonyms="chave-dos-pseudonimos-0123456789abcdef")
    assert mask_person("123.456.789-09") == pinned != before
