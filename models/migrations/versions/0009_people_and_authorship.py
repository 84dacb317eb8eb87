"""people, who wrote and reviewed each section, and the field history

- ``people``: the body's agents (identifier such as a SIAPE matrícula, never a CPF; name; órgão; roles
  ``equipe_planejamento`` / ``autoridade_competente``; active).
- ``document_fields``: ``written_by`` (the person who wrote the content, or who asked the provider for it),
  ``reviewed_by``/``reviewed_at`` (cleared by any later change), ``justified_by``.
- ``field_revisions``: every act on a section (escrita, justificativa, redacao, revisao) with the person, the app
  (API key), the document's version and the content's SHA-256.
- ``audit_log.person``: the person behind a status change (``actor`` stays the calling app).

Existing sections keep no author (they were written before people existed): a provider's draft among them must be
reviewed by a person before approval, like any other.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("identifier", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("orgao", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_people_identifier", "people", ["identifier"], unique=True)
    with op.batch_alter_table("document_fields") as batch:
        batch.add_column(sa.Column("written_by", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("justified_by", sa.String(length=40), nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("person", sa.String(length=40), nullable=True))
    op.create_table(
        "field_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=14), nullable=False),
        sa.Column("person", sa.String(length=40), nullable=True),
        sa.Column("app", sa.String(length=120), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_field_revisions_document", "field_revisions", ["document_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_field_revisions_document", table_name="field_revisions")
    op.drop_table("field_revisions")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("person")
    with op.batch_alter_table("document_fields") as batch:
        batch.drop_column("justified_by")
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
        batch.drop_column("written_by")
    op.drop_index("ix_people_identifier", table_name="people")
    op.drop_table("people")
