"""artifacts.conformance (PDF/A level), artifacts.signatures and artifacts.signers (a signed PDF is an artifact of
kind "assinado"); document_signatures: each person's signature of a consolidated version; pncp_publications: the
files attached to a contratação on PNCP.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UNIQUE = ["document_id", "document_version", "format", "classified", "kind", "research_id"]


def upgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("conformance", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("signatures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("signers", sa.JSON(), nullable=False, server_default="[]"))
        batch.drop_constraint("uq_artifacts_version_format", type_="unique")
        batch.create_unique_constraint("uq_artifacts_version_format", [*UNIQUE, "signatures"])
    op.create_table(
        "document_signatures",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("document_id", sa.Uuid(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("document_version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("backend", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("certificate_subject", sa.String(length=500), nullable=True),
        sa.Column("certificate_serial", sa.String(length=100), nullable=True),
        sa.Column("digest", sa.String(length=200), nullable=True),
        sa.Column("input_sha256", sa.String(length=64), nullable=True),
        sa.Column("artifact_id", sa.Uuid(), sa.ForeignKey("artifacts.id"), nullable=True),
        sa.Column("validation", sa.JSON(), nullable=True),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("erro", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("document_id", "document_version", "person", name="uq_signature_person"),
    )
    op.create_index("ix_document_signatures_document_id", "document_signatures", ["document_id"])
    op.create_table(
        "pncp_publications",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("document_id", sa.Uuid(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("document_version", sa.Integer(), nullable=False),
        sa.Column("tipo_documento_id", sa.Integer(), nullable=False),
        sa.Column("cnpj", sa.String(length=14), nullable=False),
        sa.Column("ano", sa.Integer(), nullable=False),
        sa.Column("sequencial", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Uuid(), sa.ForeignKey("artifacts.id"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("titulo", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("sequencial_documento", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=40), nullable=True),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_pncp_publications_document", "pncp_publications", ["document_id", "document_version", "tipo_documento_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_pncp_publications_document", "pncp_publications")
    op.drop_table("pncp_publications")
    op.drop_index("ix_document_signatures_document_id", "document_signatures")
    op.drop_table("document_signatures")
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_constraint("uq_artifacts_version_format", type_="unique")
        batch.create_unique_constraint("uq_artifacts_version_format", UNIQUE)
        batch.drop_column("signers")
        batch.drop_column("signatures")
        batch.drop_column("conformance")
