"""price_index_values: monthly price-index series (IPCA número-índice) for the correction of collected prices
(IN SEGES/ME nº 65/2021, art. 5º, I and II: "observado o índice de atualização de preços correspondente"). The
series shipped in the repository is read from seeds/; what `nexora prices index import FILE` loads is kept here and
takes precedence month by month.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_index_values",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(20, 6), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, server_default=""),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "year", "month", name="pk_price_index_values"),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="ck_price_index_values_month"),
        sa.CheckConstraint("value > 0", name="ck_price_index_values_value"),
    )


def downgrade() -> None:
    op.drop_table("price_index_values")
