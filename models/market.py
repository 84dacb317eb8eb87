"""The market database collected from PNCP: contratações, their items and the items' results, plus the
records that failed validation (quarantine) and the collection checkpoints.

Natural keys: `numero_controle_pncp` for a contratação; (`numero_controle_pncp`, `numero_item`) for an item;
(`numero_controle_pncp`, `numero_item`, `sequencial_resultado`) for a result. Upserts on those keys keep one row
per record; a newer `data_atualizacao` at the source replaces the stored values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, Numeric, String, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from models.db import UtcDateTime, utcnow
from models.search_index import item_size, item_terms, object_terms

MONEY = Numeric(18, 4)
QUANTITY = Numeric(20, 6)


class PncpContratacao(SQLModel, table=True):
    __tablename__ = "pncp_contratacoes"
    __table_args__ = (
        Index("ix_pncp_contratacoes_uf_publicacao", "uf", "data_publicacao_pncp"),
        Index("ix_pncp_contratacoes_modalidade", "modalidade_id"),
        Index("ix_pncp_contratacoes_atualizacao", "data_atualizacao_global"),
    )

    numero_controle_pncp: str = Field(primary_key=True, max_length=40)
    cnpj_orgao: str = Field(max_length=14, index=True)
    razao_social_orgao: str = Field(default="", max_length=300)
    ano_compra: int
    sequencial_compra: int
    numero_compra: str | None = Field(default=None, max_length=60)
    processo: str | None = Field(default=None, max_length=120)
    modalidade_id: int
    modalidade_nome: str | None = Field(default=None, max_length=120)
    situacao_compra_id: int | None = None
    srp: bool = False
    objeto_compra: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    amparo_legal_codigo: int | None = None
    amparo_legal_nome: str | None = Field(default=None, max_length=300)
    uf: str | None = Field(default=None, max_length=2)
    municipio: str | None = Field(default=None, max_length=120)
    codigo_ibge: str | None = Field(default=None, max_length=7)
    codigo_unidade: str | None = Field(default=None, max_length=30)
    nome_unidade: str | None = Field(default=None, max_length=300)
    valor_total_estimado: float | None = Field(default=None, sa_type=MONEY)
    valor_total_homologado: float | None = Field(default=None, sa_type=MONEY)
    data_publicacao_pncp: datetime | None = Field(default=None, sa_type=DateTime())
    data_abertura_proposta: datetime | None = Field(default=None, sa_type=DateTime())
    data_atualizacao: datetime | None = Field(default=None, sa_type=DateTime())
    data_atualizacao_global: datetime | None = Field(default=None, sa_type=DateTime())
    link_sistema_origem: str | None = Field(default=None, max_length=1000)
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    termos: str | None = Field(default=None, sa_column=Column(Text))  # the search index's words (models/search_index)


class PncpItem(SQLModel, table=True):
    __tablename__ = "pncp_itens"
    __table_args__ = (
        UniqueConstraint("numero_controle_pncp", "numero_item", name="uq_pncp_itens_key"),
        Index("ix_pncp_itens_catalogo", "codigo_catalogo"),
        Index("ix_pncp_itens_unidade", "unidade_normalizada"),
        Index("ix_pncp_itens_uf_data", "uf", "data_publicacao_pncp"),
    )

    id: int | None = Field(default=None, primary_key=True)
    numero_controle_pncp: str = Field(max_length=40)
    numero_item: int
    descricao: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    material_ou_servico: str | None = Field(default=None, max_length=1)
    quantidade: float | None = Field(default=None, sa_type=QUANTITY)
    unidade_medida: str | None = Field(default=None, max_length=120)
    unidade_normalizada: str | None = Field(default=None, max_length=40)
    valor_unitario_estimado: float | None = Field(default=None, sa_type=MONEY)
    valor_total: float | None = Field(default=None, sa_type=MONEY)
    codigo_catalogo: str | None = Field(default=None, max_length=40)
    ncm_nbs_codigo: str | None = Field(default=None, max_length=40)
    criterio_julgamento_id: int | None = None
    situacao_item_id: int | None = None
    tem_resultado: bool = False
    orcamento_sigiloso: bool = False
    uf: str | None = Field(default=None, max_length=2)
    data_publicacao_pncp: datetime | None = Field(default=None, sa_type=DateTime())
    data_atualizacao: datetime | None = Field(default=None, sa_type=DateTime())
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    termos: str | None = Field(default=None, sa_column=Column(Text))  # the search index's words (models/search_index)
    palavras: int | None = None  # how many words the price research compares (models/search_index.item_size)


class PncpResultado(SQLModel, table=True):
    __tablename__ = "pncp_resultados"
    __table_args__ = (
        UniqueConstraint("numero_controle_pncp", "numero_item", "sequencial_resultado", name="uq_pncp_resultados_key"),
        Index("ix_pncp_resultados_data", "data_resultado"),
    )

    id: int | None = Field(default=None, primary_key=True)
    numero_controle_pncp: str = Field(max_length=40)
    numero_item: int
    sequencial_resultado: int
    tipo_pessoa: str | None = Field(default=None, max_length=2)
    ni_fornecedor: str | None = Field(default=None, max_length=80)  # a PF's CPF is stored as "pf:<hmac>"
    nome_fornecedor: str | None = Field(default=None, max_length=300)  # withheld for a PF
    porte_fornecedor_id: int | None = None
    quantidade_homologada: float | None = Field(default=None, sa_type=QUANTITY)
    valor_unitario_homologado: float | None = Field(default=None, sa_type=MONEY)
    valor_total_homologado: float | None = Field(default=None, sa_type=MONEY)
    percentual_desconto: float | None = None
    situacao_resultado_id: int | None = None
    data_resultado: date | None = Field(default=None, sa_type=Date())
    data_atualizacao: datetime | None = Field(default=None, sa_type=DateTime())
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class PncpQuarantine(SQLModel, table=True):
    __tablename__ = "pncp_quarantine"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(20), index=True)  # contratacao | item | resultado | page
    source: str = Field(max_length=500)
    record_key: str | None = Field(default=None, max_length=120)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    raw: str = Field(sa_column=Column(Text, nullable=False))
    flow_run_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class PncpCheckpoint(SQLModel, table=True):
    """How far a slice (endpoint × modalidade × UF × window) has been stored: its last stored page."""

    __tablename__ = "pncp_checkpoints"
    __table_args__ = (UniqueConstraint("slice_key", name="uq_pncp_checkpoints_slice"),)

    id: int | None = Field(default=None, primary_key=True)
    slice_key: str = Field(max_length=200)
    endpoint: str = Field(max_length=60)
    modalidade_id: int | None = None
    uf: str | None = Field(default=None, max_length=2)
    window_start: date = Field(sa_type=Date())
    window_end: date = Field(sa_type=Date())
    last_page: int = Field(default=0, sa_type=Integer())
    total_pages: int | None = None
    done: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class PncpDetailGap(SQLModel, table=True):
    """A contratação whose items or results could not be fetched: the next runs try again (with back-off) until they
    are stored (`filled`) or the contratação is judged gone (`discarded`, with the reason)."""

    __tablename__ = "pncp_detail_gaps"
    __table_args__ = (Index("ix_pncp_detail_gaps_due", "status", "source", "next_attempt_at"),)

    source: str = Field(primary_key=True, max_length=10)  # pncp | amostra: where the details are asked for
    numero_controle_pncp: str = Field(primary_key=True, max_length=40)
    with_results: bool = True
    status: str = Field(default="pending", max_length=10)  # pending | filled | discarded
    attempts: int = 1
    last_status: int | None = None  # HTTP status of the last failure (404: not found), None for time-outs etc.
    reason: str = Field(sa_column=Column(Text, nullable=False))
    first_failed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    last_failed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    next_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    flow_run_id: str | None = Field(default=None, max_length=64)


def _index_terms(source: str, terms: Callable[..., str]) -> Callable[..., None]:
    """A row added through the ORM (not the collection's upsert, which computes them itself) gets its search
    index words (stems) too (models/search_index.py)."""

    def fill(_mapper: Any, connection: Any, target: Any) -> None:
        target.termos = terms(getattr(target, source))
        if isinstance(target, PncpItem):
            target.palavras = item_size(target.descricao)

    return fill


for _model, _source, _terms in ((PncpItem, "descricao", item_terms), (PncpContratacao, "objeto_compra", object_terms)):
    event.listen(_model, "before_insert", _index_terms(_source, _terms))
    event.listen(_model, "before_update", _index_terms(_source, _terms))
