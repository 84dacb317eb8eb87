"""Documents (ETP/TR), their fields, and the audit log of status changes."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import StringConstraints, field_validator
from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from core.validation import REQUEST_BODY, JsonFloat, JsonInt
from models.db import UtcDateTime, utcnow
from models.enums import CriterioJulgamento, DocumentKind, DocumentStatus, FieldSource
from models.price_dates import check_reference_date


class DocumentItem(SQLModel):
    """An item the purchase plans to buy: what the price research and the estimate are made for."""

    model_config = REQUEST_BODY

    descricao: str = Field(min_length=3, max_length=2000)
    codigo_catalogo: str | None = Field(default=None, max_length=40, description="código CATMAT/CATSER")
    unidade: str | None = Field(default=None, max_length=120, description="unidade de fornecimento")
    quantidade: JsonFloat | None = Field(default=None, gt=0, le=1e12)
    material_ou_servico: Literal["M", "S"] | None = None
    data_referencia: date | None = Field(
        default=None,
        description="data de referência da pesquisa de preços, "
        "AAAA-MM-DD, de 1994-07-01 até hoje (padrão: a data da redação)",
    )

    @field_validator("data_referencia")
    @classmethod
    def _bounded(cls, value: date | None) -> date | None:
        return check_reference_date(value, "data_referencia")


UF_DESCRIPTION = (
    "sigla da UF do órgão (ex.: DF): entre as contratações similares igualmente semelhantes (ETP, art. 18, §1º, V), "
    "as da mesma UF vêm primeiro"
)


def check_uf(value: Any) -> str | None:
    """A UF's two letters, upper case; a clear error for anything else."""
    from tasks.pncp.params import UFS

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError("UF: informe a sigla como texto (ex.: DF)")
    uf = value.strip().upper()
    if uf not in UFS:
        raise ValueError(f"UF desconhecida: {value!r}; use a sigla de uma das 27 unidades da federação (ex.: DF, SP)")
    return uf


def check_uasg(value: Any) -> Any:
    """The UASG, the unit's code in Compras.gov.br: 6 digits (spaces around them dropped; empty: none). Checked on
    what a caller sends (SQLModel's `regex=` is not applied under pydantic 2, so stored values were never checked: a
    response reads them as they are)."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{6}", value):
        raise ValueError("o código UASG tem 6 dígitos")
    return value


class DocumentBase(SQLModel):
    titulo: str = Field(min_length=3, max_length=300)
    numero_processo: str = Field(min_length=1, max_length=60)
    orgao: str = Field(min_length=2, max_length=200)
    unidade: str = Field(default="", max_length=200)
    context: str = Field(default="", max_length=20_000)
    uasg: str | None = Field(default=None, description="código UASG da unidade (6 dígitos)")
    criterio_julgamento: CriterioJulgamento | None = Field(
        default=None, sa_type=String(40), description="critério de julgamento (Lei 14.133/2021, art. 33)"
    )
    pca_ano: JsonInt | None = Field(default=None, ge=2021, le=2100, description="ano do plano de contratações anual")
    uf: str | None = Field(default=None, max_length=2, description=UF_DESCRIPTION)

    @field_validator("uf", mode="before")
    @classmethod
    def _uf(cls, value: Any) -> str | None:
        return check_uf(value)


# DFD numbers and PCA item identifiers: short codes of the body's own systems
Codes = list[Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]]
DFD_DESCRIPTION = "número(s) do Documento de Formalização da Demanda (DFD)"
PCA_ITEMS_DESCRIPTION = "identificadores dos itens do PCA a que a contratação corresponde (art. 18, §1º, II)"
JUSTIFICATIVA_DESCRIPTION = "por que o orçamento é sigiloso (Lei 14.133/2021, art. 24: 'desde que justificado')"


SIGILOSO_DESCRIPTION = (
    "orçamento estimado sigiloso (Lei 14.133/2021, art. 24): a estimativa do valor só é lida "
    "com o escopo 'sigiloso', cada leitura é registrada, e o DOCX/PDF público a omite"
)


class DocumentInput(DocumentBase):
    """What a caller gives for a new document, whether created or cloned (unknown fields refused)."""

    model_config = REQUEST_BODY

    @field_validator("uasg", mode="before")
    @classmethod
    def _uasg(cls, value: Any) -> Any:
        return check_uasg(value)

    orcamento_sigiloso: bool = Field(default=False, description=SIGILOSO_DESCRIPTION)
    orcamento_sigiloso_justificativa: str | None = Field(
        default=None, max_length=4000, description=JUSTIFICATIVA_DESCRIPTION
    )
    dfd_numeros: Codes = Field(default_factory=list, max_length=20, description=DFD_DESCRIPTION)
    pca_itens: Codes = Field(default_factory=list, max_length=50, description=PCA_ITEMS_DESCRIPTION)
    itens: list[DocumentItem] = Field(default_factory=list, max_length=200)


class DocumentCreate(DocumentInput):
    template_id: uuid.UUID | None = None
    kind: DocumentKind | None = None


class DocumentUpdate(SQLModel):
    model_config = REQUEST_BODY

    @field_validator("uasg", mode="before")
    @classmethod
    def _uasg(cls, value: Any) -> Any:
        return check_uasg(value)

    @field_validator("uf", mode="before")
    @classmethod
    def _uf(cls, value: Any) -> str | None:
        return check_uf(value)

    titulo: str | None = Field(default=None, min_length=3, max_length=300)
    numero_processo: str | None = Field(default=None, min_length=1, max_length=60)
    orgao: str | None = Field(default=None, min_length=2, max_length=200)
    unidade: str | None = Field(default=None, max_length=200)
    context: str | None = Field(default=None, max_length=20_000)
    itens: list[DocumentItem] | None = Field(default=None, max_length=200)
    orcamento_sigiloso: bool | None = Field(default=None, description=SIGILOSO_DESCRIPTION)
    orcamento_sigiloso_justificativa: str | None = Field(
        default=None, max_length=4000, description=JUSTIFICATIVA_DESCRIPTION
    )
    uasg: str | None = Field(default=None, description="código UASG da unidade (6 dígitos)")
    criterio_julgamento: CriterioJulgamento | None = None
    pca_ano: JsonInt | None = Field(default=None, ge=2021, le=2100)
    uf: str | None = Field(default=None, max_length=2, description=UF_DESCRIPTION)
    dfd_numeros: Codes | None = Field(default=None, max_length=20, description=DFD_DESCRIPTION)
    pca_itens: Codes | None = Field(default=None, max_length=50, description=PCA_ITEMS_DESCRIPTION)


class Document(DocumentBase, table=True):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_orgao", "orgao"), Index("ix_documents_updated_at", "updated_at"))

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: DocumentKind = Field(index=True, sa_type=String(8))
    template_id: uuid.UUID = Field(foreign_key="templates.id", index=True)
    template_version: int
    status: DocumentStatus = Field(default=DocumentStatus.RASCUNHO, index=True, sa_type=String(20))
    version: int = Field(default=1, ge=1)
    orcamento_sigiloso: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    orcamento_sigiloso_justificativa: str | None = Field(default=None, sa_column=Column(Text))
    # the act that ended the sigilo after the licitação (art. 18 §1º VI): models.crud.documents.disclose_budget
    orcamento_divulgado_em: date | None = Field(default=None, sa_column=Column(Date))
    orcamento_divulgacao_ato: str | None = Field(default=None, sa_column=Column(Text))
    orcamento_divulgacao_motivo: str | None = Field(default=None, sa_column=Column(Text))
    orcamento_divulgado_por: str | None = Field(default=None, sa_column=Column(String(40)))
    dfd_numeros: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    pca_itens: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    etp_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("documents.id", ondelete="SET NULL", name="fk_documents_etp_id"), index=True),
    )
    # the past document (and its version) this one was cloned from (models.crud.documents.clone_document)
    cloned_from: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("documents.id", ondelete="SET NULL", name="fk_documents_cloned_from"), index=True),
    )
    cloned_from_version: int | None = None
    context: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    itens: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())

    @property
    def estimate_secret(self) -> bool:
        """The estimate is sigiloso now: set so (art. 24) and no act has ended the sigilo (art. 18, §1º, VI)."""
        return self.orcamento_sigiloso and self.orcamento_divulgado_em is None


class DocumentField(SQLModel, table=True):
    __tablename__ = "document_fields"
    __table_args__ = (UniqueConstraint("document_id", "slug", name="uq_document_fields_slug"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    document_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    slug: str = Field(max_length=40)
    position: int = 0
    content: str | None = Field(default=None, sa_column=Column(Text))
    justification: str | None = Field(default=None, sa_column=Column(Text))
    source: FieldSource | None = Field(default=None, sa_type=String(10))
    model: str | None = Field(default=None, max_length=120)
    tokens_in: int | None = None
    tokens_out: int | None = None
    flow_run_id: str | None = Field(default=None, max_length=64)
    trace_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    # who: the person who wrote the content (or asked a provider for it), who reviewed it (cleared by any change),
    # who justified leaving the section out (people.identifier)
    written_by: str | None = Field(default=None, max_length=40)
    reviewed_by: str | None = Field(default=None, max_length=40)
    reviewed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    justified_by: str | None = Field(default=None, max_length=40)


class FieldRevision(SQLModel, table=True):
    """Every act on a section, in order: written or justified by a person, drafted by a provider at a person's
    request, reviewed by a person; with the document's version and the content's SHA-256 at that moment."""

    __tablename__ = "field_revisions"
    __table_args__ = (Index("ix_field_revisions_document", "document_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: uuid.UUID = Field(sa_column=Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False))
    version: int
    slug: str = Field(max_length=40)
    action: str = Field(max_length=14)  # escrita | justificativa | redacao | revisao
    person: str | None = Field(default=None, max_length=40)
    app: str | None = Field(default=None, max_length=120)
    source: FieldSource | None = Field(default=None, sa_type=String(10))
    content_sha256: str | None = Field(default=None, max_length=64)
    flow_run_id: str | None = Field(default=None, max_length=64)
    trace_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    # a draft's marked examples (tasks/llm/examples.py), cited: our document id/version/section, or the PNCP
    # contratação, file sequencial, title and URL
    examples: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class FieldRevisionPublic(SQLModel):
    slug: str
    version: int
    action: str
    person: str | None
    app: str | None
    source: FieldSource | None
    content_sha256: str | None
    flow_run_id: str | None
    trace_id: str | None
    created_at: datetime
    examples: list[dict[str, Any]] | None = None


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    document_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    from_status: DocumentStatus | None = Field(default=None, sa_type=String(20))
    to_status: DocumentStatus = Field(sa_type=String(20))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    actor: str | None = Field(default=None, max_length=120)  # the calling app (its API key's name)
    person: str | None = Field(default=None, max_length=40)  # the person acting (people.identifier)
    trace_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class FieldWrite(SQLModel):
    model_config = REQUEST_BODY
    content: str | None = None
    justification: str | None = None


class FieldPublic(SQLModel):
    slug: str
    code: str
    title: str
    sigiloso: bool = Field(
        default=False,
        description="seção do orçamento sigiloso: sem o escopo 'sigiloso', `content` e `justification` vêm vazios",
    )
    required: bool
    content: str | None
    justification: str | None
    source: FieldSource | None
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    flow_run_id: str | None
    trace_id: str | None
    updated_at: datetime | None = Field(
        description="última alteração (vazio numa seção de orçamento sigiloso lida sem o escopo 'sigiloso')"
    )
    written_by: str | None = Field(
        default=None, description="quem escreveu o texto atual, ou pediu a redação automática (identificador)"
    )
    reviewed_by: str | None = Field(default=None, description="quem revisou o texto atual (apagado a cada mudança)")
    reviewed_at: datetime | None = None
    justified_by: str | None = Field(default=None, description="quem justificou a omissão do elemento")


class DocumentPublic(DocumentBase):
    etp_id: uuid.UUID | None = Field(default=None, description="o ETP aprovado de que este TR foi criado")
    cloned_from: uuid.UUID | None = Field(default=None, description="o documento de que este foi criado (clonagem)")
    cloned_from_version: int | None = Field(default=None, description="a versão do documento de origem copiada")
    orcamento_sigiloso: bool = False
    orcamento_sigiloso_justificativa: str | None = None
    orcamento_divulgado_em: date | None = Field(
        default=None, description="data do ato que encerrou o sigilo do orçamento (art. 18, §1º, VI), se houve"
    )
    orcamento_divulgacao_ato: str | None = Field(default=None, description="o ato que encerrou o sigilo")
    orcamento_divulgacao_motivo: str | None = Field(default=None, description="o motivo registrado no ato")
    orcamento_divulgado_por: str | None = Field(default=None, description="a autoridade que assinou o ato")
    dfd_numeros: list[str] = []
    pca_itens: list[str] = []
    itens: list[dict[str, Any]] = []
    id: uuid.UUID
    kind: DocumentKind
    template_id: uuid.UUID
    template_version: int
    status: DocumentStatus
    version: int
    created_at: datetime
    updated_at: datetime


class DocumentDetail(DocumentPublic):
    fields: list[FieldPublic]


class DocumentsPublic(SQLModel):
    data: list[DocumentPublic]
    count: int


class TransitionRequest(SQLModel):
    model_config = REQUEST_BODY
    to: DocumentStatus
    reason: str | None = Field(default=None, max_length=4000)


Day = date  # the type of BudgetDisclosure.date (a field named like its type would shadow it)


class BudgetDisclosure(SQLModel):
    """The act that ends the sigilo of the orçamento estimado after the licitação (art. 18, §1º, VI)."""

    model_config = REQUEST_BODY

    act: str = Field(
        min_length=3,
        max_length=500,
        description="o ato que encerra o sigilo (ex.: 'Termo de homologação do Pregão Eletrônico nº 90012/2026')",
    )
    date: Day = Field(description="data do ato, AAAA-MM-DD (não futura, não anterior à aprovação do documento)")
    reason: str = Field(min_length=3, max_length=4000, description="por que o sigilo termina (a licitação concluída)")


class AuditPublic(SQLModel):
    from_status: DocumentStatus | None
    to_status: DocumentStatus = Field(sa_type=String(20))
    reason: str | None
    actor: str | None = Field(description="a aplicação que chamou (nome da chave de API)")
    person: str | None = Field(default=None, description="a pessoa que agiu (identificador)")
    trace_id: str | None
    created_at: datetime


class ConfidentialRead(SQLModel, table=True):
    """One read of a sigiloso estimate: who, when, under which trace, what."""

    __tablename__ = "confidential_reads"

    id: int | None = Field(default=None, primary_key=True)
    document_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    what: str = Field(max_length=300)
    actor: str = Field(max_length=120)
    trace_id: str | None = Field(default=None, max_length=64)  # the server's
    request_id: str | None = Field(default=None, max_length=64)  # the caller's own X-Request-ID, as it came
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class ConfidentialReadPublic(SQLModel):
    what: str
    actor: str
    trace_id: str | None
    request_id: str | None = None
    created_at: datetime


class DocumentClone(DocumentInput):
    """A new case from a past document: its own process data (as at creation); the sections come from the source."""


class SearchHit(SQLModel):
    id: uuid.UUID
    kind: DocumentKind
    titulo: str
    numero_processo: str
    orgao: str
    status: DocumentStatus
    version: int
    updated_at: datetime
    rank: float = Field(description="relevância (maior = melhor; comparável só dentro de uma mesma busca)")
    trecho: str = Field(description="trecho do texto com as palavras encontradas entre « e »")


class SearchResults(SQLModel):
    data: list[SearchHit]
    count: int
    count_is_lower_bound: bool = Field(
        default=False,
        description="mais documentos do que `count` correspondem à busca: a contagem parou no limite, e só os "
        "`count` mais recentes são ordenados e paginados; refine a busca",
    )
    semantic: bool = Field(
        default=False, description="a ordem combina a busca textual com a similaridade de embeddings"
    )
