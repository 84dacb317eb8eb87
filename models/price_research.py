"""The pesquisa de preços of a document as the act IN SEGES/ME nº 65/2021 asks for: opened with a frozen date, its
prices from the sources of art. 5º (each with its evidence), treated and decided by named people, finalised into the
Relatório de Pesquisa de Preços. The rules are in ``models.price_rules``; the figures in ``tasks.prices.study``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import field_validator
from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.validation import REQUEST_BODY
from models.db import UtcDateTime, utcnow

MONEY = Numeric(18, 4)  # PNCP's precision: R$ 1,0003 stays itself
QUANTITY = Numeric(20, 6)


class Source(StrEnum):
    """The parameters of IN 65/2021, art. 5º (incisos I to V)."""

    SISTEMAS_OFICIAIS = "I"
    CONTRATACOES_SIMILARES = "II"
    MIDIA_SITIOS = "III"
    FORNECEDORES = "IV"
    NOTAS_FISCAIS = "V"


SOURCE_NAMES = {
    Source.SISTEMAS_OFICIAIS: "sistemas oficiais de governo (Painel de Preços, banco de preços em saúde)",
    Source.CONTRATACOES_SIMILARES: "contratações similares da Administração Pública",
    Source.MIDIA_SITIOS: "mídia especializada, tabela de referência ou sítio eletrônico",
    Source.FORNECEDORES: "pesquisa direta com fornecedores",
    Source.NOTAS_FISCAIS: "base nacional de notas fiscais eletrônicas",
}


class ResearchStatus(StrEnum):
    EM_ANDAMENTO = "em_andamento"
    FINALIZADA = "finalizada"
    SUBSTITUIDA = "substituida"  # in progress when the document's items changed; a new research took its place


class Method(StrEnum):
    """IN 65/2021, art. 6º: média, mediana or menor valor; another under §1º (justified and approved)."""

    MEDIA = "media"
    MEDIANA = "mediana"
    MENOR_VALOR = "menor_valor"
    OUTRO = "outro"


METHOD_NAMES = {
    Method.MEDIA: "média",
    Method.MEDIANA: "mediana",
    Method.MENOR_VALOR: "menor valor",
    Method.OUTRO: "outro método (art. 6º, § 1º)",
}


class PriceResearch(SQLModel, table=True):
    __tablename__ = "price_researches"
    __table_args__ = (Index("ix_price_researches_document", "document_id", "status"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    document_id: uuid.UUID = Field(sa_column=Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False))
    document_version: int
    status: ResearchStatus = Field(default=ResearchStatus.EM_ANDAMENTO, sa_type=String(20))
    data_pesquisa: date = Field(sa_column=Column(Date, nullable=False))  # frozen on opening (Brasília)
    data_prevista_edital: date | None = Field(default=None, sa_column=Column(Date))
    indice: str | None = Field(default=None, max_length=20)
    responsaveis: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    justificativa_fontes: str | None = Field(default=None, sa_column=Column(Text))  # art. 5º, § 1º
    justificativa_fornecedores: str | None = Field(default=None, sa_column=Column(Text))  # art. 3º, VIII
    # art. 5º, § 2º, IV: suppliers asked for a quote who did not answer
    fornecedores_sem_resposta: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    pncp_coletados: int = 0
    aberta_por: str = Field(max_length=40)
    aberta_em: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    atualizada_em: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    finalizada_por: str | None = Field(default=None, max_length=40)
    finalizada_em: datetime | None = Field(default=None, sa_type=UtcDateTime())
    resultado: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # the figures, frozen
    total: Decimal | None = Field(default=None, sa_column=Column(MONEY))


class ResearchItem(SQLModel, table=True):
    __tablename__ = "price_research_items"
    __table_args__ = (UniqueConstraint("research_id", "numero", name="uq_price_research_items_numero"),)

    id: int | None = Field(default=None, primary_key=True)
    research_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("price_researches.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    numero: int
    descricao: str = Field(sa_column=Column(Text, nullable=False))
    codigo_catalogo: str | None = Field(default=None, max_length=40)
    unidade: str | None = Field(default=None, max_length=120)
    quantidade: Decimal | None = Field(default=None, sa_column=Column(QUANTITY))
    metodo: Method | None = Field(default=None, sa_type=String(20))
    metodo_justificativa: str | None = Field(default=None, sa_column=Column(Text))
    metodo_outro_descricao: str | None = Field(default=None, sa_column=Column(Text))
    valor_outro: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    metodo_aprovado_por: str | None = Field(default=None, max_length=40)
    metodo_aprovado_em: datetime | None = Field(default=None, sa_type=UtcDateTime())
    metodo_despacho: str | None = Field(default=None, sa_column=Column(Text))
    percentual: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 4)))  # art. 6º, § 2º
    percentual_justificativa: str | None = Field(default=None, sa_column=Column(Text))
    analise_critica: str | None = Field(default=None, sa_column=Column(Text))  # art. 6º, § 4º
    excecao_justificativa: str | None = Field(default=None, sa_column=Column(Text))  # art. 6º, § 5º (gestor)
    excecao_por: str | None = Field(default=None, max_length=40)
    excecao_aprovada_por: str | None = Field(default=None, max_length=40)
    excecao_aprovada_em: datetime | None = Field(default=None, sa_type=UtcDateTime())
    excecao_despacho: str | None = Field(default=None, sa_column=Column(Text))
    decidido_por: str | None = Field(default=None, max_length=40)  # who chose the method (and percentage)


class ResearchPrice(SQLModel, table=True):
    __tablename__ = "price_research_prices"
    __table_args__ = (Index("ix_price_research_prices_item", "research_id", "item"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    research_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("price_researches.id", ondelete="CASCADE"), nullable=False)
    )
    item: int
    fonte: Source = Field(sa_type=String(3))
    origem: str = Field(default="manual", max_length=10)  # pncp | manual
    valor: Decimal = Field(sa_column=Column(MONEY, nullable=False))  # per the item's unit, as the source gives it
    data: date = Field(sa_column=Column(Date, nullable=False))  # the date the source's window counts from
    detalhes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    evidencia_uri: str | None = Field(default=None, max_length=1000)
    evidencia_key: str | None = Field(default=None, max_length=500)
    evidencia_sha256: str | None = Field(default=None, max_length=64)
    evidencia_nome: str | None = Field(default=None, max_length=255)
    evidencia_tipo: str | None = Field(default=None, max_length=120)
    evidencia_tamanho: int | None = None
    decisao: str | None = Field(default=None, max_length=10)  # excluido | mantido (over the automatic criterion)
    decisao_motivo: str | None = Field(default=None, sa_column=Column(Text))
    decisao_por: str | None = Field(default=None, max_length=40)
    decisao_em: datetime | None = Field(default=None, sa_type=UtcDateTime())
    registrado_por: str = Field(max_length=40)
    registrado_em: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


# --- requests ---------------------------------------------------------------------------------------------------


class ResearchOpen(SQLModel):
    model_config = REQUEST_BODY
    data_prevista_edital: date | None = Field(
        None, description="data prevista de divulgação do edital (as janelas do art. 5º contam dela), AAAA-MM-DD"
    )
    responsaveis: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="identificadores dos agentes responsáveis pela pesquisa (art. 3º, II); padrão: quem abre",
    )
    indice: Literal["IPCA"] | None = Field(
        None, description="índice de atualização dos preços (art. 5º, I e II: 'observado o índice de atualização')"
    )
    coletar_pncp: bool = Field(True, description="reunir os preços de contratações similares do PNCP (art. 5º, II)")


class ResearchUpdate(SQLModel):
    model_config = REQUEST_BODY
    data_prevista_edital: date | None = None
    responsaveis: list[str] | None = Field(None, min_length=1, max_length=20)
    indice: Literal["IPCA", ""] | None = Field(None, description="'' retira a correção")
    justificativa_fontes: str | None = Field(None, max_length=4000, description="art. 5º, § 1º")
    justificativa_fornecedores: str | None = Field(None, max_length=4000, description="art. 3º, VIII")
    fornecedores_sem_resposta: list[NonResponder] | None = Field(None, max_length=50)


class NonResponder(SQLModel):
    model_config = REQUEST_BODY
    cnpj: str = Field(min_length=14, max_length=18)
    nome: str = Field(min_length=2, max_length=300)
    solicitado_em: date
    meio: str = Field(min_length=2, max_length=300, description="ofício ou e-mail da solicitação formal")


ResearchUpdate.model_rebuild()


class PriceDecision(SQLModel):
    model_config = REQUEST_BODY
    decisao: Literal["excluido", "mantido", "automatico"] = Field(
        description="excluir o preço, mantê-lo apesar do critério automático, ou voltar ao critério automático"
    )
    motivo: str = Field(min_length=10, max_length=4000, description="a razão, registrada no relatório (art. 6º, § 3º)")


class ItemDecision(SQLModel):
    model_config = REQUEST_BODY
    metodo: Method | None = None
    metodo_justificativa: str | None = Field(None, max_length=4000)
    metodo_outro_descricao: str | None = Field(None, max_length=4000)
    valor_outro: Decimal | None = Field(None, gt=0, max_digits=18, decimal_places=4)
    percentual: Decimal | None = Field(None, ge=-50, le=50, max_digits=9, decimal_places=4)
    percentual_justificativa: str | None = Field(None, max_length=4000)
    analise_critica: str | None = Field(None, max_length=8000)
    excecao_justificativa: str | None = Field(None, max_length=4000, description="art. 6º, § 5º")


class ItemApproval(SQLModel):
    model_config = REQUEST_BODY
    objeto: Literal["excecao", "metodo"] = Field(
        description="'excecao': menos de três preços (art. 6º, § 5º); 'metodo': outro método (art. 6º, § 1º)"
    )
    despacho: str = Field(min_length=10, max_length=4000)


class ResearchPriceIn(SQLModel):
    """A price of sources I, III, IV or V, entered by a person (source II comes from PNCP, or by hand too)."""

    fonte: Source
    valor: Decimal = Field(gt=0, max_digits=18, decimal_places=4, description="preço unitário na unidade do item")
    data: date | None = Field(None, description="data do preço (I: consulta; II: contratação; V: emissão da NF-e)")
    sistema: str | None = Field(None, max_length=200, description="I: sistema oficial consultado")
    consulta: str | None = Field(None, max_length=2000, description="I: filtros/consulta feita")
    url: str | None = Field(None, max_length=2000, description="III: endereço da página")
    acessado_em: datetime | None = Field(None, description="III: data e hora de acesso")
    fonte_descricao: str | None = Field(None, max_length=500, description="II/III: contratação, mídia, tabela ou sítio")
    fornecedor_cnpj: str | None = Field(None, max_length=18)
    fornecedor_nome: str | None = Field(None, max_length=300)
    fornecedor_endereco: str | None = Field(None, max_length=500)
    fornecedor_contato: str | None = Field(None, max_length=300, description="IV: telefone e e-mail")
    responsavel_nome: str | None = Field(None, max_length=200, description="IV: quem assina a proposta")
    data_emissao: date | None = Field(None, description="IV: emissão da proposta")
    validade: date | None = Field(None, description="IV: validade da proposta")
    solicitacao: str | None = Field(None, max_length=500, description="IV: ofício ou e-mail da solicitação formal")
    chave_nfe: str | None = Field(None, max_length=60, description="V: chave de acesso da NF-e (44 dígitos)")
    numero_controle_pncp: str | None = Field(None, max_length=60, description="II: contratação de referência")
    observacao: str | None = Field(None, max_length=2000)

    @field_validator("fornecedor_cnpj", "chave_nfe")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        return "".join(c for c in value if c.isdigit()) if value else value
