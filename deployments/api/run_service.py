"""The one run-starting service of the API: start a deployment's run for a key (rate limit, the daily budget of
language-model calls, the cap on waiters, idempotency, the Prefect server's time-out), answer 202 with its id, or
200 with its result when it ends within `wait`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Header, Query, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from core.logging import current_request_id
from core.settings import settings
from deployments.api import llm_budget
from deployments.api import prefect_glue as glue
from deployments.api.deps import cleared_for_sigiloso
from deployments.api.errors import error_body
from deployments.api.limits import check_run_rate
from deployments.api.waiters import waiters
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
    request_id: str | None = None
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
    llm_calls: int = 0,
) -> JSONResponse:
    """Start the run (``llm_calls``: the language-model calls it may make, counted against the key's daily budget
    before it starts and given back when it does not); a waiter's slot is taken first, so a refused wait starts
    nothing."""
    with waiters.maybe(str(key.id), wait):
        await run_in_threadpool(check_run_rate, key.id)
        day = await run_in_threadpool(llm_budget.charge, key.id, llm_calls) if llm_calls else None
        try:
            started = await _start(
                client, key, spec, parameters, name=name, tags=tags, trace_id=trace_id, idempotency_key=idempotency_key
            )
        except Exception:  # the Prefect server unreachable, the deployment gone (errors.py answers 503)
            if day is not None:
                await run_in_threadpool(llm_budget.refund, key.id, day, llm_calls)
            raise
        if isinstance(started, JSONResponse):  # 409, 503: no run
            if day is not None:
                await run_in_threadpool(llm_budget.refund, key.id, day, llm_calls)
            return started
        return await _answer(request, client, key, started, tags=tags, trace_id=trace_id, wait=wait)


async def _start(
    client: PrefectClient,
    key: ApiKey,
    spec: DeploymentSpec,
    parameters: dict[str, Any],
    *,
    name: str,
    tags: list[str],
    trace_id: str,
    idempotency_key: str | None,
) -> FlowRun | JSONResponse:
    """The run created, or the answer saying why it was not."""
    scoped_key = f"{key.id}:{spec.flow_name}:{idempotency_key}" if idempotency_key else None
    try:
        async with asyncio.timeout(settings.RUN_START_TIMEOUT):
            return await glue.start_run(
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


async def _answer(
    request: Request,
    client: PrefectClient,
    key: ApiKey,
    flow_run: FlowRun,
    *,
    tags: list[str],
    trace_id: str,
    wait: float,
) -> JSONResponse:
    """202 with the run's id, or 200 with its result when it ends within ``wait``."""
    if wait:
        flow_run = await glue.wait_for_run(client, flow_run.id, wait)
        if flow_run.state and flow_run.state.type in glue.FINAL:
            described = await glue.describe_run(flow_run, settings.prefect_ui_url)
            described["result"] = shown_result(described.get("result"), cleared_for_sigiloso(key))
            if rules.SIGILOSO_RUN_TAG in tags and not cleared_for_sigiloso(key):
                redact_secret_run(described)
            done = RunStatus(**described)
            return JSONResponse(jsonable_encoder(done), status_code=status.HTTP_200_OK)
    body = RunAccepted(
        flow_run_id=str(flow_run.id),
        name=flow_run.name,
        state=flow_run.state.type.value if flow_run.state else None,
        trace_id=trace_id,
        request_id=current_request_id.get(),
        status_url=str(request.url_for("read_flow_run", flow_run_id=flow_run.id)),
        ui_url=f"{settings.prefect_ui_url}/runs/flow-run/{flow_run.id}",
    )
    return JSONResponse(body.model_dump(), status_code=status.HTTP_202_ACCEPTED, headers={"Location": body.status_url})


RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": RunAccepted, "description": "Execução iniciada"},
    200: {"model": RunStatus, "description": "Execução terminada dentro de `wait`"},
}


def _public_path(value: str) -> str:
    root = settings.artifacts_dir.resolve().as_uri().rstrip("/") + "/"
    return f"local:{value.removeprefix(root)}" if value.startswith(root) else "local:[caminho do servidor omitido]"


def shown_result(value: Any, cleared: bool) -> Any:
    """A run's result as a key sees it: a stored file by its key in the store (``local:<key>``), never the server's
    absolute ``file://`` path; a classified annex (its key, hash and size) only with the 'sigiloso' scope."""
    if isinstance(value, list):
        return [
            shown_result(item, cleared)
            for item in value
            if cleared or not (isinstance(item, dict) and item.get("classified") is True)
        ]
    if isinstance(value, dict):
        return {k: shown_result(v, cleared) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("file://"):
        return _public_path(value)
    return value


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
