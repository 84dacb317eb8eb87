"""The parameters of collect-pncp, written once: the flow's signature (what the Prefect UI's form and the server's
schema show), the API's request body and the CLI's options all use these types and ``CollectParams``.

The window rule itself is ``tasks.pncp.window.check_window``; ``CollectParams`` applies it with the other checks
so the API and the CLI refuse a bad request before any run exists, and the flow applies it in its first step (a run
started from the Prefect UI).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from core.validation import JsonInt
from tasks.pncp.window import MAX_RUN_DAYS, SCHEMA_DATE, WindowError, check_window

MODALIDADES = tuple(range(1, 14))
UFS = frozenset(
    {
        "AC",
        "AL",
        "AP",
        "AM",
        "BA",
        "CE",
        "DF",
        "ES",
        "GO",
        "MA",
        "MT",
        "MS",
        "MG",
        "PA",
        "PB",
        "PR",
        "PE",
        "PI",
        "RJ",
        "RN",
        "RS",
        "RO",
        "RR",
        "SC",
        "SP",
        "SE",
        "TO",
    }
)

Start = Annotated[
    date | None,
    Field(
        description="início da janela, AAAA-MM-DD, a partir de 2021-04-01 (Lei nº 14.133/2021, art. 174); "
        "padrão: ontem (amostra: 2016-01-01)"
    ),
]
End = Annotated[
    date | None,
    Field(
        description=f"fim da janela, AAAA-MM-DD, até hoje (horário de Brasília), no máximo {MAX_RUN_DAYS} dias após "
        "`start`; padrão: hoje (amostra: 2022-12-31)"
    ),
]
# the flow's dates also carry SCHEMA_DATE's pattern: the Prefect server refuses a date of another century when a run
# is created (from the UI too); the rest of the rule is checked in the flow's first step
FlowStart = Annotated[Start, Field(json_schema_extra={"pattern": SCHEMA_DATE["pattern"]})]
FlowEnd = Annotated[End, Field(json_schema_extra={"pattern": SCHEMA_DATE["pattern"]})]
Modalidades = Annotated[
    list[Annotated[int, Field(ge=1, le=13)]] | None,
    Field(min_length=1, max_length=13, description="códigos de modalidade 1–13 (padrão: todas)"),
]
Ufs = Annotated[
    list[Annotated[str, Field(min_length=2, max_length=2)]] | None,
    Field(min_length=1, max_length=27, description="UFs (padrão: todas de uma vez)"),
]
Endpoint = Annotated[
    Literal["contratacoes/publicacao", "contratacoes/atualizacao"],
    Field(description="consulta do PNCP: por data de publicação ou de atualização"),
]
Source = Annotated[
    Literal["pncp", "amostra"],
    Field(
        description="`pncp`: a API do PNCP (PNCP_BASE_URL); `amostra`: a amostra embutida de preços reais homologados "
        "(SIASG 2016–2022), sem rede, pelo mesmo caminho de coleta"
    ),
]
Restart = Annotated[bool, Field(description="coletar de novo fatias já concluídas")]
WithItems = Annotated[bool, Field(description="coletar também os itens de cada contratação")]
WithResults = Annotated[bool, Field(description="coletar também os resultados (preços homologados) de cada item")]


def normal_modalidades(value: list[int] | None) -> list[int] | None:
    """Sorted, once each; codes outside 1–13 refused."""
    if value is not None and (not value or any(m < 1 or m > 13 for m in value)):
        raise ValueError("modalidades são códigos de 1 a 13")
    return sorted(set(value)) if value else value


def normal_ufs(value: list[str] | None) -> list[str] | None:
    """Upper case, sorted, once each; an unknown UF refused."""
    if value is None:
        return None
    upper = sorted({v.strip().upper() for v in value})
    unknown = [v for v in upper if v not in UFS]
    if not upper or unknown:
        raise ValueError(f"UF desconhecida: {', '.join(unknown) or '(lista vazia)'}")
    return upper


class CollectParams(BaseModel):
    """What a collection is asked for (the API's body, the CLI's options, the flow's parameters)."""

    start: Start = None
    end: End = None
    modalidades: Modalidades = None
    ufs: Ufs = None
    endpoint: Endpoint = "contratacoes/publicacao"
    with_items: WithItems = True
    with_results: WithResults = True
    restart: Restart = False
    source: Source = "pncp"
    _window_days: tuple[date, date] = PrivateAttr()

    @field_validator("modalidades")
    @classmethod
    def _modalidades(cls, value: list[int] | None) -> list[int] | None:
        return normal_modalidades(value)

    @field_validator("ufs")
    @classmethod
    def _ufs(cls, value: list[str] | None) -> list[str] | None:
        return normal_ufs(value)

    @model_validator(mode="after")
    def _window(self) -> CollectParams:
        try:
            self._window_days = check_window(self.start, self.end, self.source)
        except WindowError as exc:
            raise PydanticCustomError("janela_invalida", exc.message) from None
        return self

    @property
    def window(self) -> tuple[date, date]:
        """The window the run collects (the defaults filled in)."""
        return self._window_days


class DocumentsParams(BaseModel):
    """What collect-pncp-documents is asked for: the contratações published in [start, end] and in ``ufs`` (default:
    any), at most ``limit`` (default: PNCP_DOCUMENTS_BATCH), newest first."""

    start: date | None = Field(None, description="publicação a partir de, AAAA-MM-DD")
    end: date | None = Field(None, description="publicação até, AAAA-MM-DD")
    ufs: list[str] | None = Field(None, min_length=1, max_length=27, description="UFs (padrão: todas)")
    limit: JsonInt | None = Field(None, ge=1, le=10000, description="no máximo quantas contratações listar")

    @field_validator("ufs")
    @classmethod
    def _ufs(cls, value: list[str] | None) -> list[str] | None:
        return normal_ufs(value)

    @model_validator(mode="after")
    def _window(self) -> DocumentsParams:
        if self.start and self.end and self.start > self.end:
            raise ValueError("a data inicial (start) é posterior à final (end)")
        return self
