"""api_keys: the órgãos a key is bound to (none: every órgão); confidential_reads: the caller's own X-Request-ID,
apart from the server's trace id (issue 21)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 08:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("orgaos", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("confidential_reads") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("confidential_reads") as batch:
        batch.drop_column("request_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("orgaos")
