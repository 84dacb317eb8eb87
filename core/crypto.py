"""Keys derived from SECRET_KEY, one per use (HKDF-SHA256 with its own label), and the secrets the system must read
back (webhook signing secrets) sealed at rest with one of them.

A database dump plus one derived key gives neither SECRET_KEY nor the other keys. SECRET_KEY rotates: the keys it
replaced (SECRET_KEY_PREVIOUS) still open what they sealed, and `reseal` moves a sealed value to the current key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.settings import settings

SEALING = b"nexora/v2/sealing/webhook-secrets"
PSEUDONYMS = b"nexora/v2/pseudonyms/cpf"
_LEGACY_SEALING = b"nexora/webhook-secrets/v1:"  # before v2: SHA-256 of this prefix and SECRET_KEY, no HKDF


class SecretUnreadable(Exception):
    """A sealed secret opens with none of the keys (SECRET_KEY, SECRET_KEY_PREVIOUS)."""


def derive_key(secret: str, label: bytes) -> bytes:
    """32 bytes for one use (`label`) of a secret: HKDF-SHA256, no salt (the secret is random), the label as info."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret.encode())


def pseudonym_key() -> bytes:
    """The HMAC key of the CPF pseudonyms: from PSEUDONYM_KEY when set (it does not rotate), else from SECRET_KEY."""
    source = settings.PSEUDONYM_KEY or settings.SECRET_KEY
    return derive_key(source.get_secret_value(), PSEUDONYMS)


def _fernet(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(key))


def _legacy(secret: str) -> Fernet:
    return _fernet(hashlib.sha256(_LEGACY_SEALING + secret.encode()).digest())


@functools.lru_cache(maxsize=4)
def _boxes(current: str, previous: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    """The current key's box, and every key's: current first (it seals), then the previous ones, then the v1
    derivation of each (secrets stored before v2)."""
    primary = _fernet(derive_key(current, SEALING))
    older = [_fernet(derive_key(secret, SEALING)) for secret in previous]
    legacy = [_legacy(secret) for secret in (current, *previous)]
    return primary, MultiFernet([primary, *older, *legacy])


def _keys() -> tuple[Fernet, MultiFernet]:
    return _boxes(settings.SECRET_KEY.get_secret_value(), tuple(settings.previous_secret_keys))


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def seal(secret: str) -> str:
    return _keys()[1].encrypt(secret.encode()).decode()


def _unreadable() -> SecretUnreadable:
    return SecretUnreadable(
        "o segredo do webhook não abre com a SECRET_KEY atual nem com as de SECRET_KEY_PREVIOUS; recoloque a chave "
        "antiga em SECRET_KEY_PREVIOUS ou recrie a assinatura"
    )


def unseal(token: str) -> str:
    try:
        return _keys()[1].decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise _unreadable() from exc


def reseal(token: str) -> str | None:
    """The value sealed again with the current key, or None when it already is (SecretUnreadable if no key opens
    it)."""
    current, every = _keys()
    try:
        current.decrypt(token.encode())
        return None
    except InvalidToken:
        pass
    try:
        return every.rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise _unreadable() from exc
