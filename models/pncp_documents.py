"""The library of other bodies' ETPs and TRs collected from PNCP (collect-pncp-documents): one row per file of a
contratação (its outcome: indexed, or why not), and the indexed text cut into sections.

Search: on PostgreSQL each section has a generated ``search_vector`` (``to_tsvector('nexora_pt', heading || text)``)
with a GIN index; on SQLite an FTS5 table ``pncp_document_sections_fts`` holds the sections' pre-stemmed text
(``models.textsearch.stems``) under the section's id as rowid. Both are created by migration 0019, not by the models
(their columns are the database's business; the code only reads them in models/crud/pncp_documents.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.db import UtcDateTime, utcnow

# what became of a file: only ``indexed`` has sections; the others say why not (``error`` has the details)
DOCUMENT_STATUSES = (
    "indexed",  # text extracted, CPFs masked, sections stored
    "no_text",  # every page a scanned image: nothing to index
    "not_found",  # 404 at PNCP
    "too_big",  # over PNCP_DOCUMENT_MAX_BYTES / pages / zip caps
    "encrypted",  # a PDF with a password
    "unsupported",  # neither PDF, DOCX nor ZIP
    "no_match",  # an edital or annex with no ETP/TR inside
    "failed",  # corrupt file, or PNCP kept failing after the retries
)


class PncpDocument(SQLModel, table=True):
    __tablename__ = "pncp_documents"
    __table_args__ = (
        UniqueConstraint("cnpj", "ano", "sequencial", "sequencial_documento", name="uq_pncp_documents_key"),
        Index("ix_pncp_documents_controle", "numero_controle_pncp"),
        Index("ix_pncp_documents_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    numero_controle_pncp: str = Field(max_length=40)
    cnpj: str = Field(max_length=14)
    ano: int
    sequencial: int
    sequencial_documento: int
    tipo: str = Field(max_length=10)  # etp | tr | zip (an edital or annex opened for an ETP/TR inside)
    tipo_documento_id: int | None = None
    tipo_documento_nome: str | None = Field(default=None, max_length=120)
    titulo: str = Field(default="", max_length=500)
    url: str = Field(default="", max_length=1000)
    uf: str | None = Field(default=None, max_length=2)
    sha256: str | None = Field(default=None, max_length=64)
    size: int | None = None
    pages: int | None = None
    scanned_pages: int = 0
    cpfs_masked: int = 0
    status: str = Field(max_length=20)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    published_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    flow_run_id: str | None = Field(default=None, max_length=64)


class PncpDocumentSection(SQLModel, table=True):
    __tablename__ = "pncp_document_sections"
    __table_args__ = (
        UniqueConstraint("document_id", "position", name="uq_pncp_document_sections_position"),
        Index("ix_pncp_document_sections_element", "element"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(
        sa_column=Column(Integer, ForeignKey("pncp_documents.id", ondelete="CASCADE"), nullable=False)
    )
    position: int
    heading: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    element: str | None = Field(default=None, sa_type=String(10))  # etp:I … etp:XIII, tr:a … tr:j
    text: str = Field(sa_column=Column(Text, nullable=False))
