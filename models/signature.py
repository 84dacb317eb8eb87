"""The signatures of a consolidated document: one row per person the document names, in the order it names them
(who prepared it, then the authority who approved it), from the request to the signed PDF."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.db import UtcDateTime, utcnow


class SignatureStatus(StrEnum):
    PENDENTE = "pendente"  # an external signature: the flow run is paused, waiting for the CMS
    ASSINADA = "assinada"  # applied, validated, stored as a new artifact
    FALHOU = "falhou"  # the run failed (reason in `erro`); a new request may be made


class DocumentSignature(SQLModel, table=True):
    __tablename__ = "document_signatures"
    __table_args__ = (UniqueConstraint("document_id", "document_version", "person", name="uq_signature_person"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    document_id: uuid.UUID = Field(sa_column=Column(ForeignKey("documents.id"), nullable=False, index=True))
    document_version: int
    seq: int  # the signer's place in the document's order (1 = first named)
    person: str = Field(max_length=40)
    name: str = Field(max_length=200)
    role: str = Field(max_length=40)  # "equipe_planejamento" (prepared it) or "autoridade_competente" (approved it)
    backend: str = Field(max_length=20)  # pkcs12 | external | pkcs11
    status: str = Field(default=SignatureStatus.PENDENTE, max_length=20)
    level: str | None = Field(default=None, max_length=8)  # PAdES B-B or B-T
    certificate_subject: str | None = Field(default=None, max_length=500)
    certificate_serial: str | None = Field(default=None, max_length=100)
    digest: str | None = Field(default=None, max_length=200)  # external: what the signer must sign (hex SHA-256)
    input_sha256: str | None = Field(default=None, max_length=64)  # the PDF the signature was computed on
    artifact_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("artifacts.id"), nullable=True))
    validation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    flow_run_id: str | None = Field(default=None, max_length=64)
    erro: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    signed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
