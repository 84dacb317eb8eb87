"""PNCP collection started by the apps: `POST /api/v1/pncp/collect` → 202 + the collect-pncp flow run."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from deployments.api.deps import PrefectDep, RunKey, TraceId
from deployments.api.run_service import RESPONSES, IdempotencyKey, Wait, launch
from deployments.catalog import COLLECT_PNCP
from tasks.pncp.params import CollectParams

router = APIRouter(prefix="/api/v1/pncp", tags=["pncp"])


class CollectRequest(CollectParams):
    """The collection's own parameter model (tasks/pncp/params.py), which the flow and the CLI use too."""


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
