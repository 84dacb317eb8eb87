"""Secrets the system must read back (webhook signing secrets), sealed at rest with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken

from core.settings import settings


class SecretUnreadable(Exception):
    """A sealed secret no longer opens (SECRET_KEY changed since it was stored)."""


def _box() -> Fernet:
    material = b"nexora/webhook-secrets/v1:" + settings.SECRET_KEY.get_secret_value().encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material).digest()))


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def seal(secret: str) -> str:
    return _box().encrypt(secret.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "o segredo do webhook não pode ser lido com a SECRET_KEY atual; recrie a assinatura"
        ) from exc
