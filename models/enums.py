"""Enumerations shared by tables, schemas and rules."""

from enum import StrEnum


class DocumentKind(StrEnum):
    ETP = "ETP"
    TR = "TR"


class DocumentStatus(StrEnum):
    RASCUNHO = "rascunho"
    EM_REVISAO = "em_revisao"
    DEVOLVIDO = "devolvido"
    APROVADO = "aprovado"
    CONSOLIDADO = "consolidado"
    ASSINADO = "assinado"  # every person the document names signed its consolidated PDF (sign-document)
    PUBLICADO = "publicado"  # attached to its contratação on PNCP (publish-pncp; Lei 14.133/2021, art. 54 and 174)
    CANCELADO = "cancelado"


class CriterioJulgamento(StrEnum):
    """Lei 14.133/2021, art. 33: the criteria by which proposals are judged."""

    MENOR_PRECO = "menor_preco"
    MAIOR_DESCONTO = "maior_desconto"
    MELHOR_TECNICA = "melhor_tecnica_ou_conteudo_artistico"
    TECNICA_E_PRECO = "tecnica_e_preco"
    MAIOR_LANCE = "maior_lance"
    MAIOR_RETORNO_ECONOMICO = "maior_retorno_economico"


class Role(StrEnum):
    """What a person of the body is designated for (Lei 14.133/2021, art. 8º and art. 18, caput)."""

    EQUIPE_PLANEJAMENTO = "equipe_planejamento"
    AUTORIDADE_COMPETENTE = "autoridade_competente"


class FieldSource(StrEnum):
    HUMAN = "human"
    LLM = "llm"
    OFFLINE = "offline"
    # copied from another document by `clone`: written for another case, so a person must review it like a draft
    COPIA = "copia"


class MarketData(StrEnum):
    NONE = "none"
    SIMILAR_PURCHASES = "similar_purchases"
    PRICE_ESTIMATE = "price_estimate"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    RUN = "run"
    ADMIN = "admin"
    SIGILOSO = "sigiloso"  # reads (and writes) the estimate of a document whose orçamento is sigiloso (art. 24)
