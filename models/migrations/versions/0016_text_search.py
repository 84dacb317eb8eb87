"""Full-text search on PostgreSQL: the unaccent and pg_trgm extensions and the ``nexora_pt`` configuration
(models/textsearch.py). Nothing on SQLite, whose FTS5 indexes hold pre-stemmed text.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 02:40:00
"""

from alembic import op

from models.textsearch import PG_CONFIG, PG_SETUP

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in PG_SETUP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {PG_CONFIG}")  # the extensions may serve others: kept
