"""api_rate_buckets and llm_budget_days: the per-key limits shared by every API process (issue 21, "limits on every
key"): a token bucket per key and class of route (read, write, run), taken by one atomic upsert, and the
language-model calls a key's drafting runs used per day in Brasília.

Revision ID: 0022
Revises: 0021 (the keys bound to órgãos; both branches of issue 21 began at 0020)
Create Date: 2026-12-04 08:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_rate_buckets",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("route_class", sa.String(length=16), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "route_class", name="pk_api_rate_buckets"),
    )
    op.create_table(
        "llm_budget_days",
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "day", name="pk_llm_budget_days"),
        sa.CheckConstraint("calls >= 0", name="ck_llm_budget_days_calls"),
    )


def downgrade() -> None:
    op.drop_table("llm_budget_days")
    op.drop_table("api_rate_buckets")
