"""Price estimates for apps (the model's interval beside the IN 65 mapa de preços) and the price model's training."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator, model_validator

from core.validation import REQUEST_BODY, JsonFloat, JsonInt
from deployments.api.deps import PrefectDep, ReadKey, RunKey, TraceId
from deployments.api.run_service import RESPONSES, IdempotencyKey, Wait, launch
from deployments.catalog import TRAIN_PRICE_MODEL
from models import price_dates as dates
from models.db import session_scope
from models.document import check_uf
from tasks.prices.notes import AUXILIARY

if TYPE_CHECKING:
    from tasks.prices.registry import Served

router = APIRouter(prefix="/api/v1", tags=["prices"])
NO_MODEL = (
    "Ainda não há modelo de preços promovido (champion): a estimativa é a pesquisa de preços IN 65/2021 "
    "(mapa de preços) apenas."
)


class PriceItem(BaseModel):
    model_config = REQUEST_BODY
    descricao: str | None = Field(None, max_length=2000, description="descrição do item")
    codigo_catalogo: str | None = Field(None, max_length=40, description="código CATMAT/CATSER")
    unidade: str | None = Field(None, max_length=120, description="unidade de fornecimento (UN, CX C/ 100 UN, KG…)")
    quantidade: JsonFloat | None = Field(None, gt=0, le=1e12)
    uf: str | None = Field(None, max_length=2, description="sigla da UF (uma das 27), para o modelo de preços")
    data: date | None = Field(
        None,
        description="data de referência, AAAA-MM-DD, de 1994-07-01 (início do real) "
        "até hoje (padrão: hoje, horário de Brasília)",
    )
    modalidade_id: JsonInt | None = Field(None, ge=1, le=13)
    material_ou_servico: Literal["M", "S"] | None = None

    @field_validator("uf", mode="before")
    @classmethod
    def _uf(cls, value: Any) -> str | None:
        return check_uf(value)  # "AA" is not a UF (make fuzz); "df" is DF, as in the documents

    @model_validator(mode="after")
    def _something(self) -> PriceItem:
        if not (self.codigo_catalogo and self.codigo_catalogo.strip()) and not (
            self.descricao and self.descricao.strip()
        ):
            raise ValueError("informe a descrição e/ou o código CATMAT/CATSER do item")
        return self


class PriceBatch(BaseModel):
    model_config = REQUEST_BODY
    itens: list[PriceItem] = Field(..., min_length=1, max_length=100)


class TrainRequest(BaseModel):
    model_config = REQUEST_BODY
    test_months: JsonInt | None = Field(None, ge=1, le=60, description="meses mais recentes usados como teste")
    seed: JsonInt = Field(0, ge=0)
    promote: bool = Field(True, description="aplicar o critério de promoção (champion) ao final")


def estimate_items(items: list[dict[str, Any]], served: Served | None) -> list[dict[str, Any]]:
    """Model estimate (when a champion is loaded) and the IN 65 mapa de preços of each item, each answer marked
    ``confiavel`` (with the ``motivo`` when not: tasks.prices.reliability); an unreliable model figure is given,
    marked so."""
    from tasks.prices.estimates import predictions, research_items, verdict

    today = dates.today()
    items = [{**item, "data": item.get("data") or today} for item in items]
    predicted = predictions(served, items)
    answers = []
    with session_scope() as session:
        researched = research_items(session, items)  # the batch's collected prices read together
    for index, (item, research) in enumerate(zip(items, researched, strict=True)):
        if isinstance(research, ValueError):
            raise HTTPException(422, f"item {index + 1}: {research}") from research
        prediction = predicted[index] if predicted is not None else None
        judged = verdict(research, item, prediction, served).to_dict()
        answer: dict[str, Any] = {
            "item": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in item.items() if v is not None},
            "mapa_de_precos": research.to_dict(),
            **judged,
        }
        if prediction is not None:
            assert served is not None  # only a served model predicts
            answer["estimativa"] = {
                **prediction,
                "unidade": item.get("unidade") or "unidade do item",
                "intervalo": "80% (P10–P90)",
                "natureza": AUXILIARY,  # never the estimate of a contratação: the price research is
                "modelo": "preco-referencia",
                "versao": served.version,
                "confiavel": judged["confiavel"],
                "motivo": judged["motivo"],
            }
        else:
            answer["estimativa"] = None
            answer["nota"] = NO_MODEL
        answers.append(answer)
    return answers


def checked_dates(items: list[PriceItem], *, batch: bool) -> None:
    """422 before anything runs for a reference date out of bounds (tasks.prices.dates), naming the field."""
    for index, item in enumerate(items):
        try:
            dates.check_reference_date(item.data, f"itens[{index}].data" if batch else "data")
        except dates.ReferenceDateError as exc:
            raise HTTPException(422, str(exc)) from None


@router.post("/prices/estimate")
async def estimate(request: Request, key: ReadKey, item: PriceItem) -> dict[str, Any]:
    """Estimate of one item: the model's P50 and 80% interval and the IN 65 mapa de preços beside it."""
    checked_dates([item], batch=False)
    served = request.app.state.champion.current()
    return (await run_in_threadpool(estimate_items, [item.model_dump()], served))[0]


@router.post("/prices/estimate/batch")
async def estimate_batch(request: Request, key: ReadKey, batch: PriceBatch) -> dict[str, Any]:
    """Estimates of up to 100 items in one call."""
    checked_dates(batch.itens, batch=True)
    served = request.app.state.champion.current()
    data = await run_in_threadpool(estimate_items, [i.model_dump() for i in batch.itens], served)
    return {"data": data, "count": len(data)}


@router.get("/models/price")
async def price_model(request: Request, key: ReadKey) -> dict[str, Any]:
    """The registered versions of `preco-referencia`, their aliases and metrics, and the version in use here."""
    from tasks.prices.registry import Registry

    versions = await run_in_threadpool(lambda: Registry().versions())
    return {"in_use": request.app.state.champion.status(), "data": versions, "count": len(versions)}


@router.post("/models/price/train", status_code=202, responses=RESPONSES, response_model=None)
async def train(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    body: TrainRequest | None = None,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> JSONResponse:
    """Start a train-price-model run (train, judge against IN 65, register, promote if better)."""
    parameters = (body or TrainRequest()).model_dump(exclude_none=True)
    return await launch(
        request,
        client,
        key,
        TRAIN_PRICE_MODEL,
        parameters,
        trace_id=trace_id,
        wait=wait,
        idempotency_key=idempotency_key,
        name="train-price-model",
        tags=["nexora", "prices"],
    )
