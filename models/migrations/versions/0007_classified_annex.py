"""artifacts: the classified annex of a sigiloso estimate, registered apart from the public files

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("classified", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_constraint("uq_artifacts_version_format", type_="unique")
        batch.create_unique_constraint(
            "uq_artifacts_version_format", ["document_id", "document_version", "format", "classified"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM artifacts WHERE classified")
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_constraint("uq_artifacts_version_format", type_="unique")
        batch.create_unique_constraint("uq_artifacts_version_format", ["document_id", "document_version", "format"])
        batch.drop_column("classified")
