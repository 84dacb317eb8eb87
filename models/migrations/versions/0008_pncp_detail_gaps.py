"""pncp_detail_gaps: contratações whose items or results could not be fetched, retried by the next runs

Existing gaps (quarantined as "itens não obtidos", their contratação stored without a single item) are opened as
pending and due at once, so the next collection fills them without a --restart. They are opened for source "pncp":
the embedded sample is read in-process and never fails this way.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 06:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    gaps = op.create_table(
        "pncp_detail_gaps",
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("numero_controle_pncp", sa.String(length=40), nullable=False),
        sa.Column("with_results", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("source", "numero_controle_pncp"),
    )
    op.create_index("ix_pncp_detail_gaps_due", "pncp_detail_gaps", ["status", "source", "next_attempt_at"])
    missing = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT DISTINCT q.record_key FROM pncp_quarantine q "
                "JOIN pncp_contratacoes c ON c.numero_controle_pncp = q.record_key "
                "WHERE q.kind = 'itens' AND NOT EXISTS "
                "(SELECT 1 FROM pncp_itens i WHERE i.numero_controle_pncp = q.record_key)"
            )
        )
        .scalars()
        .all()
    )
    now = datetime.now(UTC).replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else datetime.now(UTC)
    op.bulk_insert(
        gaps,
        [
            {
                "source": "pncp",
                "numero_controle_pncp": key,
                "with_results": True,
                "status": "pending",
                "attempts": 1,
                "last_status": None,
                "reason": "itens não obtidos antes da migração 0008 (ver a quarentena)",
                "first_failed_at": now,
                "last_failed_at": now,
                "next_attempt_at": now,
                "closed_at": None,
                "flow_run_id": None,
            }
            for key in missing
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_pncp_detail_gaps_due", table_name="pncp_detail_gaps")
    op.drop_table("pncp_detail_gaps")
