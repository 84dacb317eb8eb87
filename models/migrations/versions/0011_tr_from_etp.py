"""documents.etp_id: a TR created from an approved ETP keeps the link (and inherits its process, órgão, items and
planning header)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("etp_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key("fk_documents_etp_id", "documents", ["etp_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_documents_etp_id", ["etp_id"])


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_index("ix_documents_etp_id")
        batch.drop_constraint("fk_documents_etp_id", type_="foreignkey")
        batch.drop_column("etp_id")
