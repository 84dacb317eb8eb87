"""What every `nexora` sub-app shares: the consoles, the one-line failure, the error decorator, starting a run."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console

from core.settings import settings
from core.validation import describe, summary
from deployments.operations.stack import apply_prefect_env

F = TypeVar("F", bound=Callable)
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]erro:[/] {message}", soft_wrap=True)  # one line, however long
    raise typer.Exit(code)


def prefect_down(exc: Exception) -> str:
    from prefect.settings import PREFECT_API_URL

    return (
        f"o servidor Prefect não respondeu em {PREFECT_API_URL.value()} ({type(exc).__name__}); ele está no ar? "
        "(nexora up)"
    )


def operator_message(exc: Exception) -> str:
    """The line an operator reads for an error: a validation's summary, the Prefect server being down, or the
    error's own message."""
    if isinstance(exc, ValidationError):
        return summary(describe(exc.errors(), root=""))
    if isinstance(exc, httpx.HTTPError):
        return prefect_down(exc)
    return getattr(exc, "message", None) or str(exc)


def fails_on(*errors: type[Exception]) -> Callable[[F], F]:
    """A command whose `errors` end it with the one red `erro:` line (exit code 1) instead of a traceback."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except errors as exc:
                fail(operator_message(exc))

        return run  # type: ignore[return-value]

    return decorate


def as_uuid(value: str) -> uuid.UUID:
    """An id given on the command line, or the `id inválido` line."""
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"id inválido: {value}")


def prepare_database() -> None:
    from models.crud.templates import seed_templates
    from models.db import session_scope
    from models.migrate import upgrade

    upgrade()
    with session_scope() as session:
        seed_templates(session)


def start_and_follow(
    spec,
    parameters: dict,
    tags: list[str],
    wait: float,
    failure: str,
    *,
    name: str | None = None,
    show: Callable[[Any], None] | None = None,
) -> None:
    """Start a run of a deployment, follow it up to ``wait`` seconds, print its state and result (``show``, or as
    JSON), fail with the run's message if it failed."""
    import asyncio

    from prefect.client.orchestration import get_client

    from core.logging import new_trace_id
    from deployments.api import prefect_glue as glue

    apply_prefect_env(settings)

    async def run() -> dict:
        async with get_client() as client:
            flow_run = await glue.start_run(
                client, spec.full_name, parameters, trace_id=new_trace_id(), tags=tags, name=name or spec.flow_name
            )
            console.print(f"execução {flow_run.id} ({flow_run.name}) iniciada")
            if wait:
                flow_run = await glue.wait_for_run(client, flow_run.id, wait)
            return await glue.describe_run(flow_run, settings.prefect_ui_url)

    status = asyncio.run(run())
    console.print(f"estado: {status['state']} — {status['ui_url']}")
    if status["final"] and status["state"] != "COMPLETED":
        fail(status["message"] or failure)
    if status["state"] == "COMPLETED":
        (show or (lambda result: console.print_json(json.dumps(result))))(status["result"])
