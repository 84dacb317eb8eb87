"""API keys: create (shown once), authenticate, revoke."""

from __future__ import annotations

import hmac

from sqlmodel import Session, col, select

from models.apikey import ApiKey, generate_key, hash_key, parse_prefix
from models.db import utcnow
from models.enums import Scope
from models.errors import InvalidError, NotFoundError


def create_key(session: Session, name: str, scopes: list[str], orgaos: list[str] | None = None) -> tuple[ApiKey, str]:
    """A new key with these scopes; ``orgaos``: the órgãos whose documents it reaches (none: every órgão)."""
    unknown = sorted(set(scopes) - {s.value for s in Scope})
    if unknown or not scopes:
        raise InvalidError(f"Escopos inválidos: {unknown or '(nenhum)'}; use {', '.join(s.value for s in Scope)}.")
    bound = list(dict.fromkeys(" ".join(o.split()) for o in orgaos or []))
    if any(not o or len(o) > 200 for o in bound):
        raise InvalidError("Órgão inválido: cada --orgao precisa de 1 a 200 caracteres.")
    raw, prefix = generate_key()
    key = ApiKey(name=name, prefix=prefix, key_hash=hash_key(raw), scopes=sorted(set(scopes)), orgaos=bound)
    session.add(key)
    session.flush()
    return key, raw


def authenticate(session: Session, raw: str) -> ApiKey | None:
    prefix = parse_prefix(raw)
    if prefix is None:
        return None
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None or key.revoked_at is not None:
        return None
    return key if hmac.compare_digest(key.key_hash, hash_key(raw)) else None


def revoke_key(session: Session, prefix: str) -> ApiKey:
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None:
        raise NotFoundError(f"Chave com prefixo {prefix} não encontrada.")
    key.revoked_at = utcnow()
    session.add(key)
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.created_at))).all())
