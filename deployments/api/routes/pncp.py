"""PNCP collection started by the apps: `POST /api/v1/pncp/collect` → 202 + the collect-pncp flow run."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from deployments.api.deps import PrefectDep, RunKey, TraceId
from deployments.api.run_service import RESPONSES, IdempotencyKey, Wait, launch
from deployments.catalog import COLLECT_PNCP
from tasks.pncp.window import MAX_RUN_DAYS, WindowError, check_window

router = APIRouter(prefix="/api/v1/pncp", tags=["pncp"])
UFS = {"AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR", "PE", "PI", "RJ",
       "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"}


class CollectRequest(BaseModel):
    start: date | None = Field(None, description="início da janela, AAAA-MM-DD, a partir de 2021-04-01 (Lei nº "
                                                 "14.133/2021, art. 174); padrão: ontem (amostra: 2016-01-01)")
    end: date | None = Field(None, description=f"fim da janela, AAAA-MM-DD, até hoje (horário de Brasília), no máximo "
                                               f"{MAX_RUN_DAYS} dias após `start`; padrão: hoje (amostra: 2022-12-31)")
    modalidades: list[Annotated[int, Field(ge=1, le=13)]] | None = Field(
        None, min_length=1, max_length=13, description="códigos de modalidade 1–13 (padrão: todas)")
    ufs: list[Annotated[str, Field(min_length=2, max_length=2)]] | None = Field(
        None, min_length=1, max_length=27, description="UFs (padrão: todas de uma vez)")
    endpoint: Literal["contratacoes/publicacao", "contratacoes/atualizacao"] = "contratacoes/publicacao"
    with_items: bool = True
    with_results: bool = True
    restart: bool = Field(False, description="coletar de novo fatias já concluídas")
    source: Literal["pncp", "amostra"] = Field(
        "pncp", description="`pncp`: a API do PNCP (PNCP_BASE_URL); `amostra`: a amostra embutida de preços reais "
                            "homologados (SIASG 2016–2022), sem rede, pelo mesmo caminho de coleta")
    _window_days: tuple[date, date] = PrivateAttr()

    @field_validator("modalidades")
    @classmethod
    def _modalidades(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or any(m < 1 or m > 13 for m in value)):
            raise ValueError("modalidades são códigos de 1 a 13")
        return sorted(set(value)) if value else value

    @field_validator("ufs")
    @classmethod
    def _ufs(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        upper = sorted({v.strip().upper() for v in value})
        unknown = [v for v in upper if v not in UFS]
        if not upper or unknown:
            raise ValueError(f"UF desconhecida: {', '.join(unknown) or '(lista vazia)'}")
        return upper

    @model_validator(mode="after")
    def _window(self) -> CollectRequest:
        try:
            self._window_days = check_window(self.start, self.end, self.source)
        except WindowError as exc:
            raise PydanticCustomError("janela_invalida", exc.message) from None
        return self


@router.post("/collect", status_code=202, responses=RESPONSES, response_model=None)
async def collect(request: Request, client: PrefectDep, key: RunKey, trace_id: TraceId, body: CollectRequest,
                  idempotency_key: IdempotencyKey = None, wait: Wait = 0) -> JSONResponse:
    """Collect contratações (and their items and results) of a window from PNCP into the market tables."""
    parameters = body.model_dump(mode="json", exclude_none=True)
    start, end = body._window_days
    label = f"{start:%Y%m%d}-{end:%Y%m%d}" + ("-amostra" if body.source == "amostra" else "")
    return await launch(request, client, key, COLLECT_PNCP, parameters, trace_id=trace_id, wait=wait,
                        idempotency_key=idempotency_key, name=f"collect-pncp-{label}", tags=["nexora", "pncp"])
