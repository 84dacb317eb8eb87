"""pncp_documents and pncp_document_sections: the library of other bodies' ETPs/TRs collected from PNCP, with a
full-text index of the sections — PostgreSQL: a generated tsvector (``nexora_pt``, migration 0016) with a GIN
index; SQLite: an FTS5 table over the pre-stemmed text (models.textsearch.stems), filled by the code that stores
the sections. And field_revisions.examples: the sources of the marked examples a draft's prompt carried
(tasks/llm/examples.py), cited in the field's history.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 02:45:00
"""

import sqlalchemy as sa
from alembic import op

from models.textsearch import PG_CONFIG

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pncp_documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("numero_controle_pncp", sa.String(length=40), nullable=False),
        sa.Column("cnpj", sa.String(length=14), nullable=False),
        sa.Column("ano", sa.Integer(), nullable=False),
        sa.Column("sequencial", sa.Integer(), nullable=False),
        sa.Column("sequencial_documento", sa.Integer(), nullable=False),
        sa.Column("tipo", sa.String(length=10), nullable=False),
        sa.Column("tipo_documento_id", sa.Integer(), nullable=True),
        sa.Column("tipo_documento_nome", sa.String(length=120), nullable=True),
        sa.Column("titulo", sa.String(length=500), nullable=False, server_default=""),
        sa.Column("url", sa.String(length=1000), nullable=False, server_default=""),
        sa.Column("uf", sa.String(length=2), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("scanned_pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cpfs_masked", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.UniqueConstraint("cnpj", "ano", "sequencial", "sequencial_documento", name="uq_pncp_documents_key"),
    )
    op.create_index("ix_pncp_documents_controle", "pncp_documents", ["numero_controle_pncp"])
    op.create_index("ix_pncp_documents_status", "pncp_documents", ["status"])
    op.create_table(
        "pncp_document_sections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("pncp_documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False, server_default=""),
        sa.Column("element", sa.String(length=10), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.UniqueConstraint("document_id", "position", name="uq_pncp_document_sections_position"),
    )
    op.create_index("ix_pncp_document_sections_element", "pncp_document_sections", ["element"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE pncp_document_sections ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('{PG_CONFIG}'::regconfig, heading || ' ' || text)) STORED"
        )
        op.execute("CREATE INDEX ix_pncp_document_sections_search ON pncp_document_sections USING gin (search_vector)")
    else:
        op.execute("CREATE VIRTUAL TABLE pncp_document_sections_fts USING fts5(stems, tokenize='unicode61')")

    op.add_column("field_revisions", sa.Column("examples", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("field_revisions") as batch:
        batch.drop_column("examples")
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS pncp_document_sections_fts")
    op.drop_table("pncp_document_sections")
    op.drop_table("pncp_documents")
