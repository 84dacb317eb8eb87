"""The pesquisa de preços of a document (IN SEGES/ME nº 65/2021): open, read, record prices with their evidence,
decide, approve, finalise into the Relatório de Pesquisa de Preços.

Every change names its person (X-Actor) and checks its rule (``models.price_rules``). For a document whose orçamento
is sigiloso (Lei 14.133/2021, art. 24), the research is the estimate itself: every call needs the 'sigiloso' scope
until the authority's act ends the sigilo, and each read is audited."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, UploadFile, status
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import ValidationError
from sqlmodel import Session

from core.settings import settings
from deployments.api.deps import ActingDep, ReadKey, SessionDep, TraceId, WriteKey, cleared_for_sigiloso
from deployments.api.files import stored_file
from models.apikey import ApiKey
from models.crud import price_research as crud
from models.crud.documents import get_document, record_confidential_read
from models.errors import InvalidError
from models.price_research import (
    ItemApproval,
    ItemDecision,
    PriceDecision,
    ResearchOpen,
    ResearchPriceIn,
    ResearchUpdate,
    Source,
)
from tasks.storage.store import store_evidence

router = APIRouter(prefix="/api/v1/documents/{document_id}/price-research", tags=["price research"])


def _guard(session: Session, document_id: uuid.UUID, key: ApiKey, trace_id: str, what: str) -> None:
    """A sigiloso estimate's research: only with the 'sigiloso' scope, and each access audited."""
    document = get_document(session, document_id)
    if not document.estimate_secret:
        return
    if not cleared_for_sigiloso(key):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "A pesquisa de preços deste documento é o seu orçamento estimado sigiloso (art. 24 da Lei nº "
            "14.133/2021): exige o escopo 'sigiloso'.",
        )
    record_confidential_read(session, document_id, f"pesquisa de preços: {what}", key.name, trace_id)


def _whole(session: Session, document_id: uuid.UUID) -> dict[str, Any]:
    document = get_document(session, document_id)
    return crud.analysis(session, document, crud.current(session, document_id))


def _item(session: Session, document_id: uuid.UUID, numero: int) -> dict[str, Any]:
    return next(i for i in _whole(session, document_id)["itens"] if i["numero"] == numero)


@router.post("", status_code=status.HTTP_201_CREATED)
def open_research(
    session: SessionDep,
    key: WriteKey,
    acting: ActingDep,
    trace_id: TraceId,
    document_id: uuid.UUID,
    body: ResearchOpen | None = None,
) -> dict[str, Any]:
    """Open the research of the document's items (X-Actor: the planning team): dated today, frozen; the prices of
    contratações similares in the collected PNCP data gathered (art. 5º, II)."""
    from tasks.prices.study import pncp_prices

    _guard(session, document_id, key, trace_id, "abertura")
    crud.open_research(session, document_id, body or ResearchOpen.model_validate({}), acting, pncp_prices(session))
    return _whole(session, document_id)


@router.get("")
def read_research(session: SessionDep, key: ReadKey, trace_id: TraceId, document_id: uuid.UUID) -> dict[str, Any]:
    """The research whole: header, people, every item's mapa de apuração and result, and what is missing."""
    _guard(session, document_id, key, trace_id, "leitura")
    return _whole(session, document_id)


@router.patch("")
def update_research(
    session: SessionDep,
    key: WriteKey,
    acting: ActingDep,
    trace_id: TraceId,
    document_id: uuid.UUID,
    body: ResearchUpdate,
) -> dict[str, Any]:
    """Planned edital date, people, index, the §1º and art. 3º VIII justifications, suppliers who did not answer."""
    _guard(session, document_id, key, trace_id, "alteração")
    crud.update_research(session, document_id, body, acting)
    return _whole(session, document_id)


@router.post("/items/{numero}/prices", status_code=status.HTTP_201_CREATED)
async def add_price(
    session: SessionDep,
    key: WriteKey,
    acting: ActingDep,
    trace_id: TraceId,
    document_id: uuid.UUID,
    numero: Annotated[int, Path(ge=1, le=1000)],
    fonte: Annotated[Source, Form(description="parâmetro do art. 5º: I, II, III, IV ou V")],
    valor: Annotated[Decimal, Form(description="preço unitário na unidade do item (até 4 casas)")],
    arquivo: Annotated[UploadFile | None, File(description="o documento que comprova o preço")] = None,
    data: Annotated[date | None, Form()] = None,
    sistema: Annotated[str | None, Form()] = None,
    consulta: Annotated[str | None, Form()] = None,
    url: Annotated[str | None, Form()] = None,
    acessado_em: Annotated[datetime | None, Form()] = None,
    fonte_descricao: Annotated[str | None, Form()] = None,
    fornecedor_cnpj: Annotated[str | None, Form()] = None,
    fornecedor_nome: Annotated[str | None, Form()] = None,
    fornecedor_endereco: Annotated[str | None, Form()] = None,
    fornecedor_contato: Annotated[str | None, Form()] = None,
    responsavel_nome: Annotated[str | None, Form()] = None,
    data_emissao: Annotated[date | None, Form()] = None,
    validade: Annotated[date | None, Form()] = None,
    solicitacao: Annotated[str | None, Form()] = None,
    chave_nfe: Annotated[str | None, Form()] = None,
    numero_controle_pncp: Annotated[str | None, Form()] = None,
    observacao: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Record a price of a source of art. 5º (multipart/form-data) with the fields its source needs and the evidence
    file ('arquivo'), kept in object storage with its SHA-256. Refused, with the rule quoted, outside its window."""
    fields = {k: v for k, v in locals().items() if k in ResearchPriceIn.model_fields and v is not None}
    try:
        price_in = ResearchPriceIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    _guard(session, document_id, key, trace_id, f"preço do item {numero}")
    evidence = None
    if arquivo is not None:
        content = await arquivo.read(settings.MAX_UPLOAD_BYTES + 1)
        evidence = (arquivo.filename or "arquivo", arquivo.content_type or "application/octet-stream", content)
    price = crud.add_price(session, document_id, numero, price_in, evidence, acting, store_evidence)
    item = _item(session, document_id, numero)
    return {"preco": next(p for p in item["precos"] if p["id"] == str(price.id)), "item": item}


@router.post("/prices/{price_id}/decision")
def decide_price(
    session: SessionDep,
    key: WriteKey,
    acting: ActingDep,
    trace_id: TraceId,
    document_id: uuid.UUID,
    price_id: uuid.UUID,
    body: PriceDecision,
) -> dict[str, Any]:
    """Exclude a price, keep one the automatic criterion discards, or return it to the criterion, with the reason."""
    _guard(session, document_id, key, trace_id, "decisão sobre preço")
    price = crud.decide_price(session, document_id, price_id, body, acting)
    return _item(session, document_id, price.item)


@router.patch("/items/{numero}")
def decide_item(
    session: SessionDep,
    key: WriteKey,
    acting: ActingDep,
    trace_id: TraceId,
    document_id: uuid.UUID,
    numero: Annotated[int, Path(ge=1, le=1000)],
    body: ItemDecision,
) -> dict[str, Any]:
    """The item's method and its justification, the §2º percentage, the §4º critical analysis, the §5º justification."""
    _guard(session, document_id, key, trace_id, f"decisão do item {numero}")
    crud.decide_item(session, document_id, numero, body, acting)
    return _item(session, document_id, numero)


@router.post("/items/{numero}/approval")
def approve_item(
    session: SessionDep,
    key: WriteKey,
    acting: ActingDep,
    trace_id: TraceId,
    document_id: uuid.UUID,
    numero: Annotated[int, Path(ge=1, le=1000)],
    body: ItemApproval,
) -> dict[str, Any]:
    """The competent authority approves the item's §5º exception or §1º method, with a despacho."""
    _guard(session, document_id, key, trace_id, f"aprovação do item {numero}")
    crud.approve_item(session, document_id, numero, body, acting)
    return _item(session, document_id, numero)


@router.post("/finalize")
def finalize(
    session: SessionDep, key: WriteKey, acting: ActingDep, trace_id: TraceId, document_id: uuid.UUID
) -> dict[str, Any]:
    """Freeze the research and produce the Relatório de Pesquisa de Preços (DOCX and PDF), registered as artifacts of
    the document; 422 with every pendência while a rule is unmet."""
    from tasks.records.research_report import render_and_store

    _guard(session, document_id, key, trace_id, "finalização")
    crud.finalize(session, document_id, acting, render_and_store)
    return _whole(session, document_id)


@router.get(
    "/prices/{price_id}/evidence",
    response_model=None,
    responses={200: {"description": "O arquivo"}, 307: {"description": "URL pré-assinada do S3"}},
)
def evidence(
    session: SessionDep, key: ReadKey, trace_id: TraceId, document_id: uuid.UUID, price_id: uuid.UUID
) -> RedirectResponse | StreamingResponse:
    """The evidence file of a price, as stored (its SHA-256 in X-Content-SHA256)."""
    _guard(session, document_id, key, trace_id, f"arquivo do preço {price_id}")
    price = crud.price_of_document(session, document_id, price_id)
    if not price.evidencia_key or not price.evidencia_uri:
        raise HTTPException(404, "Este preço não tem arquivo (preços do PNCP levam o endereço da contratação).")
    return stored_file(
        price.evidencia_uri,
        price.evidencia_key,
        price.evidencia_nome or "arquivo",
        price.evidencia_tipo or "application/octet-stream",
        price.evidencia_sha256 or "",
        f"do preço {price_id}",
    )
