"""The one run-starting service of the API: start a deployment's run for a key (rate limit, idempotency, the
Prefect server's time-out), answer 202 with its id, or 200 with its result when it ends within `wait`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Header, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from prefect.client.orchestration import PrefectClient
from pydantic import BaseModel

from core.settings import settings
from deployments.api import prefect_glue as glue
from deployments.api.deps import cleared_for_sigiloso
from deployments.api.errors import error_body
from deployments.api.limits import check_run_rate
from deployments.catalog import DeploymentSpec
from models import rules
from models.apikey import ApiKey

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")]
Wait = Annotated[float, Query(ge=0, le=300, description="segundos a esperar pelo resultado (0 = não esperar)")]


class RunAccepted(BaseModel):
    flow_run_id: str
    name: str
    state: str | None
    trace_id: str
    status_url: str
    ui_url: str


class RunStatus(BaseModel):
    flow_run_id: str
    name: str
    state: str | None
    state_name: str | None
    message: str | None
    final: bool
    trace_id: str | None
    tags: list[str]
    parameters: dict[str, Any]
    created: str | None
    start_time: str | None
    end_time: str | None
    ui_url: str
    result: Any = None


async def launch(
    request: Request,
    client: PrefectClient,
    key: ApiKey,
    spec: DeploymentSpec,
    parameters: dict[str, Any],
    *,
    name: str,
    tags: list[str],
    trace_id: str,
    idempotency_key: str | None,
    wait: float,
) -> JSONResponse:
    check_run_rate(str(key.id))
    scoped_key = f"{key.id}:{spec.flow_name}:{idempotency_key}" if idempotency_key else None
    try:
        async with asyncio.timeout(settings.RUN_START_TIMEOUT):
            flow_run = await glue.start_run(
                client, spec.full_name, parameters, trace_id=trace_id, tags=tags, name=name, idempotency_key=scoped_key
            )
    except glue.IdempotencyConflict as exc:
        return JSONResponse(error_body(str(exc), flow_run_id=str(exc.flow_run.id)), status_code=409)
    except TimeoutError:
        return JSONResponse(
            error_body(
                f"O servidor Prefect não criou a execução em {settings.RUN_START_TIMEOUT:.0f} s; repita o pedido "
                "com a mesma Idempotency-Key (não haverá execução duplicada)."
            ),
            status_code=503,
            headers={"Retry-After": "10"},
        )
    if wait:
        flow_run = await glue.wait_for_run(client, flow_run.id, wait)
        if flow_run.state and flow_run.state.type in glue.FINAL:
            described = await glue.describe_run(flow_run, settings.prefect_ui_url)
            if rules.SIGILOSO_RUN_TAG in tags and not cleared_for_sigiloso(key):
                redact_secret_run(described)
            done = RunStatus(**described)
            return JSONResponse(jsonable_encoder(done), status_code=status.HTTP_200_OK)
    body = RunAccepted(
        flow_run_id=str(flow_run.id),
        name=flow_run.name,
        state=flow_run.state.type.value if flow_run.state else None,
        trace_id=trace_id,
        status_url=str(request.url_for("read_flow_run", flow_run_id=flow_run.id)),
        ui_url=f"{settings.prefect_ui_url}/runs/flow-run/{flow_run.id}",
    )
    return JSONResponse(body.model_dump(), status_code=status.HTTP_202_ACCEPTED, headers={"Location": body.status_url})


RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": RunAccepted, "description": "Execução iniciada"},
    200: {"model": RunStatus, "description": "Execução terminada dentro de `wait`"},
}


def redact_secret_run(described: dict[str, Any]) -> None:
    """A run of a document with a sigiloso estimate (tagged so when it started, or drafting the estimate now) as a
    key without the 'sigiloso' scope sees it: its state, not what may quote the estimate — the message (a refused
    draft is quoted in it), the person's instructions, the drafted text (art. 24 da Lei 14.133/2021)."""
    if described.get("message"):
        described["message"] = rules.REDACTED_RUN_MESSAGE
    parameters = described.get("parameters") or {}
    if parameters.get("instructions"):
        described["parameters"] = {**parameters, "instructions": "[omitido: orçamento sigiloso]"}
    result = described.get("result")
    if isinstance(result, dict) and result.get("content"):
        described["result"] = {**result, "content": None, "sigiloso": True}
