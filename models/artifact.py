"""The artifact registry: every stored DOCX/PDF of a consolidated document, with its hash and location."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import model_validator
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from models.db import UtcDateTime, utcnow


class Artifact(SQLModel, table=True):
    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint(
            "document_id",
            "document_version",
            "format",
            "classified",
            "kind",
            "research_id",
            "signatures",
            name="uq_artifacts_version_format",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    document_id: uuid.UUID = Field(sa_column=Column(ForeignKey("documents.id"), nullable=False, index=True))
    document_version: int
    format: str = Field(sa_type=String(8))
    # the classified annex of a sigiloso estimate (art. 24): stored apart, listed and read only with the scope
    classified: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # what the file is: the consolidated document ("documento") or a Relatório de Pesquisa de Preços
    # ("pesquisa_precos", with its research's id; "" for the document's own files)
    kind: str = Field(default="documento", sa_column=Column(String(20), nullable=False, server_default="documento"))
    research_id: str = Field(default="", sa_column=Column(String(36), nullable=False, server_default=""))
    # a PDF's PDF/A conformance as validated when it was written ("PDF/A-2b"); "" for a DOCX
    conformance: str = Field(default="", sa_column=Column(String(16), nullable=False, server_default=""))
    # a signed PDF (kind "assinado"): how many signatures it carries, and whose (identifiers, in signing order)
    signatures: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    signers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    storage_uri: str = Field(max_length=1000)
    key: str = Field(max_length=500)
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int
    template_id: uuid.UUID
    template_version: int
    flow_run_id: str | None = Field(default=None, max_length=64)
    trace_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


def public_storage_uri(uri: str, key: str) -> str:
    """The address an answer shows: an S3 URI as it is; a file of the local store by its key (``local:<key>``),
    never the server's absolute path."""
    return f"local:{key}" if uri.startswith("file:") else uri


class ArtifactPublic(SQLModel):
    @model_validator(mode="before")
    @classmethod
    def _public_uri(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("storage_uri"), str) and data.get("key"):
            return {**data, "storage_uri": public_storage_uri(data["storage_uri"], data["key"])}
        if isinstance(data, Artifact):
            return {**data.model_dump(), "storage_uri": public_storage_uri(data.storage_uri, data.key)}
        return data

    id: uuid.UUID
    document_id: uuid.UUID
    document_version: int
    format: str
    classified: bool = False
    kind: str = "documento"
    research_id: str = ""
    conformance: str = ""
    signatures: int = 0
    signers: list[str] = []
    storage_uri: str
    sha256: str
    size_bytes: int
    template_version: int
    flow_run_id: str | None
    created_at: datetime
    download_url: str | None = None
