"""documents: what the planning records in its header — UASG, critério de julgamento (art. 33), the PCA year and
items (art. 18 §1º II), the DFD numbers — and the justification of an orçamento sigiloso (art. 24, caput)

Existing sigiloso documents keep no justification: they cannot be approved until one is given.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("uasg", sa.String(length=6), nullable=True))
        batch.add_column(sa.Column("criterio_julgamento", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("pca_ano", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("orcamento_sigiloso_justificativa", sa.Text(), nullable=True))
        batch.add_column(sa.Column("dfd_numeros", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("pca_itens", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        for column in (
            "pca_itens",
            "dfd_numeros",
            "orcamento_sigiloso_justificativa",
            "pca_ano",
            "criterio_julgamento",
            "uasg",
        ):
            batch.drop_column(column)
