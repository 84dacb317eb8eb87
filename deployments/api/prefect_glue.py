"""The Prefect-client glue used by the API and the CLI: start a run, read it, wait for it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.context import SettingsContext, get_settings_context
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, Settings

from core.logging import current_request_id, request_tag, trace_id_from_tags, trace_tag
from core.settings import settings

T = TypeVar("T")
FINAL = {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used for a run with other parameters."""

    def __init__(self, flow_run: FlowRun):
        super().__init__("Idempotency-Key já usada com outros parâmetros")
        self.flow_run = flow_run


def _jsonable(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in parameters.items()}


_deployment_ids: dict[str, uuid.UUID] = {}


async def deployment_id(client: PrefectClient, name: str) -> uuid.UUID:
    """The deployment's id, looked up once per process (a deployment keeps its id when re-applied)."""
    if name not in _deployment_ids:
        _deployment_ids[name] = (await client.read_deployment_by_name(name)).id
    return _deployment_ids[name]


_without_retries: tuple[Settings, Settings] | None = None


def _settings_without_client_retries(settings: Settings) -> Settings:
    """The same settings with the client's retries off (made once; settings objects are not hashable)."""
    global _without_retries
    if _without_retries is None or _without_retries[0] is not settings:
        _without_retries = (settings, settings.copy_with_update(updates={PREFECT_CLIENT_MAX_RETRIES: 0}))
    return _without_retries[1]


@contextlib.contextmanager
def _no_client_retries() -> Iterator[None]:
    context = get_settings_context()
    with SettingsContext(profile=context.profile, settings=_settings_without_client_retries(context.settings)):
        yield


async def retry_busy(call: Callable[[], Awaitable[T]], first_delay: float = 0.05, max_delay: float = 1.0) -> T:
    """Run a Prefect client call, repeating it soon after a 503 until it succeeds (the caller bounds the time).

    Prefect's server answers 503 when its SQLite database is locked by another write for a few milliseconds,
    and Prefect's client then waits 2 s, 4 s, 8 s…; a user starting a run would wait seconds for nothing. Here
    the client's own retries are off for this call and a 503 is repeated after 50 ms, 100 ms, … up to 1 s.
    Creating a run is safe to repeat: a 503 means the server's transaction did not commit.
    """
    delay = first_delay
    while True:
        try:
            with _no_client_retries():
                return await call()
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 503:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


async def start_run(
    client: PrefectClient,
    deployment: str,
    parameters: dict[str, Any],
    *,
    trace_id: str,
    tags: list[str],
    name: str,
    idempotency_key: str | None = None,
) -> FlowRun:
    """Create a flow run of the deployment and return at once (what `arun_deployment(timeout=0)` does,
    without its by-name lookup on every call: one request to the Prefect server per trigger)."""
    parameters = _jsonable(parameters)
    request_id = current_request_id.get()  # the caller's X-Request-ID: a tag of its own, beside the server's trace
    tags = [trace_tag(trace_id), *([request_tag(request_id)] if request_id else []), *tags]
    deployment_uuid = await deployment_id(client, deployment)
    try:
        flow_run = await retry_busy(
            lambda: client.create_flow_run_from_deployment(
                deployment_uuid,
                parameters=parameters,
                name=name,
                tags=tags,
                idempotency_key=idempotency_key,
            )
        )
    except ObjectNotFound:
        _deployment_ids.pop(deployment, None)  # deleted and re-created: look it up again next time
        raise
    if idempotency_key and _jsonable(flow_run.parameters) != parameters:
        raise IdempotencyConflict(flow_run)
    return flow_run


async def read_run(client: PrefectClient, flow_run_id: uuid.UUID) -> FlowRun | None:
    try:
        return await client.read_flow_run(flow_run_id)
    except ObjectNotFound:
        return None


def poll_delays(first: float = 0.25, factor: float = 1.5, longest: float = 2.0) -> Iterator[float]:
    """The pauses between a waiter's reads of a run: quick at first (most drafting runs end within seconds), then
    ever longer up to ``longest`` (WAIT_POLL_MAX_SECONDS): a waiter of 300 s reads the run ~160 times, not 1,200."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, longest)


async def wait_for_run(
    client: PrefectClient, flow_run_id: uuid.UUID, seconds: float, longest_poll: float | None = None
) -> FlowRun:
    """Poll until the run reaches a final state or `seconds` pass (pauses of ``poll_delays``); returns the last seen
    run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    delays = poll_delays(longest=longest_poll or settings.WAIT_POLL_MAX_SECONDS)
    while True:
        flow_run = await client.read_flow_run(flow_run_id)
        if flow_run.state and flow_run.state.type in FINAL:
            return flow_run
        if loop.time() >= deadline:
            return flow_run
        await asyncio.sleep(min(next(delays), max(0.0, deadline - loop.time())))


async def describe_run(flow_run: FlowRun, ui_url: str) -> dict[str, Any]:
    state = flow_run.state
    body: dict[str, Any] = {
        "flow_run_id": str(flow_run.id),
        "name": flow_run.name,
        "state": state.type.value if state else None,
        "state_name": state.name if state else None,
        "message": state.message if state else None,
        "final": bool(state and state.type in FINAL),
        "trace_id": trace_id_from_tags(flow_run.tags),
        "tags": sorted(flow_run.tags),
        "parameters": flow_run.parameters,
        "created": flow_run.created.isoformat() if flow_run.created else None,
        "start_time": flow_run.start_time.isoformat() if flow_run.start_time else None,
        "end_time": flow_run.end_time.isoformat() if flow_run.end_time else None,
        "ui_url": f"{ui_url}/runs/flow-run/{flow_run.id}",
        "result": None,
    }
    if state and state.type is StateType.COMPLETED:
        try:
            body["result"] = await state.aresult(raise_on_failure=False)
        except Exception as exc:  # noqa: BLE001 - a result that cannot be read is reported, not fatal
            body["message"] = f"resultado indisponível: {exc}"
    return body


class NotPaused(RuntimeError):
    """The run is not waiting for input (it ended, or has not paused yet)."""


async def resume_with_input(client: PrefectClient, flow_run_id: uuid.UUID, run_input: dict[str, Any]) -> None:
    """Resume a paused run with its input (prefect.flow_runs.resume_flow_run, on the API's client)."""
    flow_run = await client.read_flow_run(flow_run_id)
    if not flow_run.state or not flow_run.state.is_paused():
        raise NotPaused(flow_run.state.name if flow_run.state else "sem estado")
    response = await client.resume_flow_run(flow_run_id, run_input=run_input)
    if response.status.value == "REJECT":
        reason = getattr(response.details, "reason", None) or "recusado pelo servidor Prefect"
        raise NotPaused(str(reason))
