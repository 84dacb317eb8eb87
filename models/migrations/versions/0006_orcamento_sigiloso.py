"""documents: orçamento sigiloso (art. 24) and the audit of its reads

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:50:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("orcamento_sigiloso", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "confidential_reads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Uuid(), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("what", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("trace_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_confidential_reads_document_id", "confidential_reads", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_confidential_reads_document_id", "confidential_reads")
    op.drop_table("confidential_reads")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("orcamento_sigiloso")
