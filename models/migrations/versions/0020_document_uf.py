"""documents: the body's UF, by which the ETP's similar contratações (art. 18, §1º, V) of equal likeness are ordered
(issue 20: ranked by text, catalogue code, UF and recency)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 07:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("uf", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("uf")
