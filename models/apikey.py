"""API keys: stored as a SHA-256 hash with a short public prefix for lookup, with scopes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.db import UtcDateTime, utcnow

KEY_PREFIX = "nxk_"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=120)
    prefix: str = Field(max_length=16, index=True, unique=True)
    key_hash: str = Field(max_length=64)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # the órgãos whose documents the key reaches; empty: every órgão (issue 21)
    orgaos: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


def reaches(key: ApiKey, orgao: str) -> bool:
    """Whether the key reaches a document of this órgão (a key bound to no órgão reaches every one)."""
    return not key.orgaos or " ".join(orgao.split()).lower() in {o.lower() for o in key.orgaos}


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_key() -> tuple[str, str]:
    """Return (raw key, lookup prefix). The raw key is shown once and never stored."""
    prefix = secrets.token_hex(6)
    return f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


def parse_prefix(raw: str) -> str | None:
    if not raw.startswith(KEY_PREFIX):
        return None
    parts = raw[len(KEY_PREFIX) :].split("_", 1)
    return parts[0] if len(parts) == 2 and len(parts[0]) == 12 else None
