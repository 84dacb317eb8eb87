"""PNCP collection started by the apps: `POST /api/v1/pncp/collect` → 202 + the collect-pncp flow run;
`POST /api/v1/pncp/documentos/collect` → 202 + a collect-pncp-documents run; `GET /api/v1/pncp/documentos/search`:
the library of other bodies' ETPs/TRs, sections with a snippet and the PNCP link."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from core.validation import REQUEST_BODY
from deployments.api.deps import PrefectDep, ReadKey, RunKey, SessionDep, TraceId
from deployments.api.run_service import RESPONSES, IdempotencyKey, Wait, launch
from deployments.catalog import COLLECT_PNCP, COLLECT_PNCP_DOCUMENTS
from models.crud import pncp_documents as library
from models.textsearch import words
from tasks.pncp.params import UFS, CollectParams, DocumentsParams

router = APIRouter(prefix="/api/v1/pncp", tags=["pncp"])


class CollectRequest(CollectParams):
    """The collection's own parameter model (tasks/pncp/params.py), which the flow and the CLI use too."""

    model_config = REQUEST_BODY


@router.post("/collect", status_code=202, responses=RESPONSES, response_model=None)
async def collect(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    body: CollectRequest,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> JSONResponse:
    """Collect contratações (and their items and results) of a window from PNCP into the market tables."""
    parameters = body.model_dump(mode="json", exclude_none=True)
    start, end = body.window
    label = f"{start:%Y%m%d}-{end:%Y%m%d}" + ("-amostra" if body.source == "amostra" else "")
    return await launch(
        request,
        client,
        key,
        COLLECT_PNCP,
        parameters,
        trace_id=trace_id,
        wait=wait,
        idempotency_key=idempotency_key,
        name=f"collect-pncp-{label}",
        tags=["nexora", "pncp"],
    )


class DocumentsRequest(DocumentsParams):
    """The library collection's own parameter model (tasks/pncp/params.py), which the CLI uses too."""

    model_config = REQUEST_BODY


@router.post("/documentos/collect", status_code=202, responses=RESPONSES, response_model=None)
async def collect_documents(
    request: Request,
    client: PrefectDep,
    key: RunKey,
    trace_id: TraceId,
    body: DocumentsRequest,
    idempotency_key: IdempotencyKey = None,
    wait: Wait = 0,
) -> JSONResponse:
    """Fetch and index the ETPs/TRs PNCP publishes with the collected contratações (collect-pncp-documents)."""
    return await launch(
        request,
        client,
        key,
        COLLECT_PNCP_DOCUMENTS,
        body.model_dump(mode="json", exclude_none=True),
        trace_id=trace_id,
        wait=wait,
        idempotency_key=idempotency_key,
        name="collect-pncp-documents",
        tags=["nexora", "pncp"],
    )


@router.get("/documentos/search")
def search_documents(
    session: SessionDep,
    key: ReadKey,
    q: Annotated[str, Query(min_length=1, max_length=300, description="palavras procuradas (todas)")],
    tipo: Annotated[Literal["etp", "tr"] | None, Query(description="etp ou tr")] = None,
    uf: Annotated[str | None, Query(min_length=2, max_length=2, description="UF do órgão")] = None,
    elemento: Annotated[
        str | None, Query(pattern=r"^(etp:[IVX]{1,4}|tr:[a-j])$", description="etp:I … etp:XIII, tr:a … tr:j")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Sections of other bodies' ETPs/TRs collected from PNCP that contain every word of ``q`` (stems, accents
    ignored), best first, each with a snippet, the file's title, its PNCP download URL and the contratação's page."""
    if uf is not None and uf.upper() not in UFS:
        raise HTTPException(422, f"UF desconhecida: {uf}")
    if not words(q):
        raise HTTPException(422, "A busca precisa de ao menos uma palavra.")
    hits = library.search(session, q, tipo=tipo, uf=uf, element=elemento, limit=limit)
    return {
        "q": q,
        "total": len(hits),
        "resultados": [
            {
                "numero_controle_pncp": h.numero_controle_pncp,
                "sequencial_documento": h.sequencial_documento,
                "tipo": h.tipo,
                "titulo": h.titulo,
                "uf": h.uf,
                "secao": h.heading,
                "elemento": h.element,
                "trecho": h.snippet(q),
                "url": h.url,
                "link_pncp": h.pncp_link,
                "relevancia": round(h.score, 6),
            }
            for h in hits
        ],
    }
