"""What this system attached to a contratação on PNCP (Lei 14.133/2021, art. 54 and art. 174): one row per file, from
the intent (before the request) to the URL PNCP answered with, and its removal when a new version supersedes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Text
from sqlmodel import Field, SQLModel

from models.db import UtcDateTime, utcnow


class PublicationStatus(StrEnum):
    ENVIANDO = "enviando"  # recorded before the request: a rerun first looks for it on PNCP (never attaches twice)
    PUBLICADO = "publicado"
    REMOVIDO = "removido"  # superseded by a newer version's file, removed on PNCP with a justificativa


class PncpPublication(SQLModel, table=True):
    __tablename__ = "pncp_publications"
    __table_args__ = (Index("ix_pncp_publications_document", "document_id", "document_version", "tipo_documento_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    document_id: uuid.UUID = Field(sa_column=Column(ForeignKey("documents.id"), nullable=False))
    document_version: int
    tipo_documento_id: int  # PNCP's table: 4 Termo de Referência, 7 Estudo Técnico Preliminar, 16 Outros
    cnpj: str = Field(max_length=14)
    ano: int
    sequencial: int  # the contratação's sequential number on PNCP
    artifact_id: uuid.UUID = Field(sa_column=Column(ForeignKey("artifacts.id"), nullable=False))
    sha256: str = Field(max_length=64)
    titulo: str = Field(max_length=255)
    status: str = Field(default=PublicationStatus.ENVIANDO, max_length=20)
    url: str | None = Field(default=None, max_length=1000)
    sequencial_documento: int | None = None  # the file's number in the contratação (the last segment of the URL)
    requested_by: str | None = Field(default=None, max_length=40)
    flow_run_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    published_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    removed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    removal_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
