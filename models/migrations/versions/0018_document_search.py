"""Search over our own ETPs/TRs (models/search.py): the ``document_search`` index, with its generated weighted
tsvectors and GIN indexes on PostgreSQL and its FTS5 tables of stems on SQLite, filled for the documents already
there; ``search_vectors`` for the optional semantic ranking; ``documents.cloned_from`` and
``documents.cloned_from_version``, the provenance of a document cloned from a past one.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 02:50:00
"""

import uuid

import sqlalchemy as sa
from alembic import op
from sqlmodel import Session

from models.textsearch import PG_CONFIG

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _tsvector(*columns: tuple[str, str]) -> str:
    return " || ".join(f"setweight(to_tsvector('{PG_CONFIG}'::regconfig, {c}), '{w}')" for c, w in columns)


PUBLIC = (("title", "A"), ("object", "B"), ("sections", "C"))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # a plain ADD COLUMN, not a batch copy of the table: models.migrate.upgrade runs on the app's engine, with
        # foreign keys on, where dropping the old copy of `documents` would cascade to every field and audit row
        op.execute(
            "ALTER TABLE documents ADD COLUMN cloned_from CHAR(32) CONSTRAINT fk_documents_cloned_from "
            "REFERENCES documents (id) ON DELETE SET NULL"
        )
        op.add_column("documents", sa.Column("cloned_from_version", sa.Integer(), nullable=True))
    else:
        op.add_column("documents", sa.Column("cloned_from", sa.Uuid(), nullable=True))
        op.add_column("documents", sa.Column("cloned_from_version", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_documents_cloned_from", "documents", "documents", ["cloned_from"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_documents_cloned_from", "documents", ["cloned_from"])
    op.create_table(
        "document_search",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "document_id", sa.Uuid(), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, unique=True
        ),
        sa.Column("title", sa.Text(), nullable=False, server_default=""),
        sa.Column("object", sa.Text(), nullable=False, server_default=""),
        sa.Column("sections", sa.Text(), nullable=False, server_default=""),
        sa.Column("estimate", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "search_vectors",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("dims", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "key", "model", name="uq_search_vectors"),
    )
    if bind.dialect.name == "postgresql":
        public = _tsvector(*PUBLIC)
        everything = _tsvector(*PUBLIC, ("estimate", "C"))
        op.execute(f"ALTER TABLE document_search ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({public}) STORED")
        op.execute(f"ALTER TABLE document_search ADD COLUMN tsv_all tsvector GENERATED ALWAYS AS ({everything}) STORED")
        op.execute("CREATE INDEX ix_document_search_tsv ON document_search USING gin (tsv)")
        op.execute("CREATE INDEX ix_document_search_tsv_all ON document_search USING gin (tsv_all)")
    else:
        op.execute("CREATE VIRTUAL TABLE document_search_fts USING fts5(title, object, sections)")
        op.execute("CREATE VIRTUAL TABLE document_search_fts_all USING fts5(title, object, sections, estimate)")
    from models.search import sync_document

    session = Session(bind=bind)
    for (document_id,) in bind.execute(sa.text("SELECT id FROM documents")).all():
        sync_document(session, document_id if not isinstance(document_id, str) else _uuid(document_id))
    session.flush()


def _uuid(value: str) -> uuid.UUID:  # SQLite returns the stored 32 hex digits
    return uuid.UUID(value)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS document_search_fts")
        op.execute("DROP TABLE IF EXISTS document_search_fts_all")
    op.drop_table("search_vectors")
    op.drop_table("document_search")
    op.drop_index("ix_documents_cloned_from", "documents")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_documents_cloned_from", "documents", type_="foreignkey")
    with op.batch_alter_table("documents") as batch:  # models.migrate.downgrade: its own engine, foreign keys off
        batch.drop_column("cloned_from_version")
        batch.drop_column("cloned_from")
