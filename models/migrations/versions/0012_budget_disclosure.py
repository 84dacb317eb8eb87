"""documents: the act that ends the sigilo of the orçamento estimado after the licitação (Lei 14.133/2021, art. 18
§1º VI: "se a Administração optar por preservar o seu sigilo até a conclusão da licitação") — its date, the act,
the reason and the authority who signed it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("orcamento_divulgado_em", sa.Date(), nullable=True))
        batch.add_column(sa.Column("orcamento_divulgacao_ato", sa.Text(), nullable=True))
        batch.add_column(sa.Column("orcamento_divulgacao_motivo", sa.Text(), nullable=True))
        batch.add_column(sa.Column("orcamento_divulgado_por", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        for column in (
            "orcamento_divulgado_por",
            "orcamento_divulgacao_motivo",
            "orcamento_divulgacao_ato",
            "orcamento_divulgado_em",
        ):
            batch.drop_column(column)
