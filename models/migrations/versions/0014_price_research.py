"""price_researches, price_research_items, price_research_prices: the pesquisa de preços of a document as the act
IN SEGES/ME nº 65/2021 (art. 3º) asks for; artifacts.kind and artifacts.research_id: the Relatório de Pesquisa de
Preços is an artifact of the document beside its DOCX/PDF.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 4)


def upgrade() -> None:
    op.create_table(
        "price_researches",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("document_id", sa.Uuid(), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("document_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("data_pesquisa", sa.Date(), nullable=False),
        sa.Column("data_prevista_edital", sa.Date(), nullable=True),
        sa.Column("indice", sa.String(length=20), nullable=True),
        sa.Column("responsaveis", sa.JSON(), nullable=False),
        sa.Column("justificativa_fontes", sa.Text(), nullable=True),
        sa.Column("justificativa_fornecedores", sa.Text(), nullable=True),
        sa.Column("fornecedores_sem_resposta", sa.JSON(), nullable=False),
        sa.Column("pncp_coletados", sa.Integer(), nullable=False),
        sa.Column("aberta_por", sa.String(length=40), nullable=False),
        sa.Column("aberta_em", sa.DateTime(timezone=True), nullable=False),
        sa.Column("atualizada_em", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalizada_por", sa.String(length=40), nullable=True),
        sa.Column("finalizada_em", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resultado", sa.JSON(), nullable=True),
        sa.Column("total", MONEY, nullable=True),
    )
    op.create_index("ix_price_researches_document", "price_researches", ["document_id", "status"])
    op.create_table(
        "price_research_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("research_id", sa.Uuid(), sa.ForeignKey("price_researches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("numero", sa.Integer(), nullable=False),
        sa.Column("descricao", sa.Text(), nullable=False),
        sa.Column("codigo_catalogo", sa.String(length=40), nullable=True),
        sa.Column("unidade", sa.String(length=120), nullable=True),
        sa.Column("quantidade", sa.Numeric(20, 6), nullable=True),
        sa.Column("metodo", sa.String(length=20), nullable=True),
        sa.Column("metodo_justificativa", sa.Text(), nullable=True),
        sa.Column("metodo_outro_descricao", sa.Text(), nullable=True),
        sa.Column("valor_outro", MONEY, nullable=True),
        sa.Column("metodo_aprovado_por", sa.String(length=40), nullable=True),
        sa.Column("metodo_aprovado_em", sa.DateTime(timezone=True), nullable=True),
        sa.Column("metodo_despacho", sa.Text(), nullable=True),
        sa.Column("percentual", sa.Numeric(9, 4), nullable=True),
        sa.Column("percentual_justificativa", sa.Text(), nullable=True),
        sa.Column("analise_critica", sa.Text(), nullable=True),
        sa.Column("excecao_justificativa", sa.Text(), nullable=True),
        sa.Column("excecao_por", sa.String(length=40), nullable=True),
        sa.Column("excecao_aprovada_por", sa.String(length=40), nullable=True),
        sa.Column("excecao_aprovada_em", sa.DateTime(timezone=True), nullable=True),
        sa.Column("excecao_despacho", sa.Text(), nullable=True),
        sa.Column("decidido_por", sa.String(length=40), nullable=True),
        sa.UniqueConstraint("research_id", "numero", name="uq_price_research_items_numero"),
    )
    op.create_index("ix_price_research_items_research_id", "price_research_items", ["research_id"])
    op.create_table(
        "price_research_prices",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("research_id", sa.Uuid(), sa.ForeignKey("price_researches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("fonte", sa.String(length=3), nullable=False),
        sa.Column("origem", sa.String(length=10), nullable=False),
        sa.Column("valor", MONEY, nullable=False),
        sa.Column("data", sa.Date(), nullable=False),
        sa.Column("detalhes", sa.JSON(), nullable=False),
        sa.Column("evidencia_uri", sa.String(length=1000), nullable=True),
        sa.Column("evidencia_key", sa.String(length=500), nullable=True),
        sa.Column("evidencia_sha256", sa.String(length=64), nullable=True),
        sa.Column("evidencia_nome", sa.String(length=255), nullable=True),
        sa.Column("evidencia_tipo", sa.String(length=120), nullable=True),
        sa.Column("evidencia_tamanho", sa.Integer(), nullable=True),
        sa.Column("decisao", sa.String(length=10), nullable=True),
        sa.Column("decisao_motivo", sa.Text(), nullable=True),
        sa.Column("decisao_por", sa.String(length=40), nullable=True),
        sa.Column("decisao_em", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registrado_por", sa.String(length=40), nullable=False),
        sa.Column("registrado_em", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_price_research_prices_item", "price_research_prices", ["research_id", "item"])
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=20), nullable=False, server_default="documento"))
        batch.add_column(sa.Column("research_id", sa.String(length=36), nullable=False, server_default=""))
        batch.drop_constraint("uq_artifacts_version_format", type_="unique")
        batch.create_unique_constraint(
            "uq_artifacts_version_format",
            ["document_id", "document_version", "format", "classified", "kind", "research_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_constraint("uq_artifacts_version_format", type_="unique")
        batch.create_unique_constraint(
            "uq_artifacts_version_format", ["document_id", "document_version", "format", "classified"]
        )
        batch.drop_column("research_id")
        batch.drop_column("kind")
    op.drop_index("ix_price_research_prices_item", "price_research_prices")
    op.drop_table("price_research_prices")
    op.drop_index("ix_price_research_items_research_id", "price_research_items")
    op.drop_table("price_research_items")
    op.drop_index("ix_price_researches_document", "price_researches")
    op.drop_table("price_researches")
