"""The search index over the collected PNCP items and contratações (models/search_index.py): ``termos`` columns,
PostgreSQL's generated tsvectors with GIN indexes and the objeto's trigram index, SQLite's FTS5 tables and triggers;
the rows already stored are indexed here (``nexora search reindex`` does the same later, idempotent).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 02:40:00
"""

from alembic import op

from models import search_index

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    search_index.build(connection)
    for table in search_index.SOURCES:
        for _ in search_index.reindex(connection, table):
            pass


def downgrade() -> None:
    search_index.drop(op.get_bind())
