"""`nexora up`, `nexora demo`, `nexora runner`: the platform on this host (deployments/operations/stack.py)."""

from __future__ import annotations

import json
import signal
import time
from typing import Annotated

import typer

from core.settings import settings
from deployments.cli.common import console, err, fail, prepare_database
from deployments.operations.stack import apply_prefect_env


def runner() -> None:
    """Serve every deployment in this process (the embedded flow runner)."""
    from deployments.runner import main

    main()


def _start_stack(workers: int = 0, postgres: str | None = None):
    from deployments.catalog import DEPLOYMENTS
    from deployments.operations.stack import Stack, StackError, ensure_postgres_database

    if postgres:
        try:
            ensure_postgres_database(postgres)
        except Exception as exc:  # noqa: BLE001 - one line for the operator
            fail(f"PostgreSQL indisponível em {postgres}: {type(exc).__name__}: {exc}")
        settings.DATABASE_URL = postgres  # the migrations and the API below use it
    prepare_database()
    stack = Stack(settings, workers=workers, postgres=postgres)
    executors = f"{workers} worker(s) no pool nexora-process" if workers else "runner"
    console.print(f"iniciando Prefect server, {executors} e API…")
    try:
        stack.start([spec.full_name for spec in DEPLOYMENTS])
    except StackError as exc:
        stack.stop()
        fail(str(exc))
    return stack


def up(
    workers: Annotated[
        int, typer.Option(min=0, max=16, help="N workers de processo no pool nexora-process (0: o runner embutido)")
    ] = 0,
    postgres: Annotated[
        str | None,
        typer.Option(help="URL PostgreSQL do banco da aplicação; o do servidor Prefect fica ao lado (<banco>_prefect)"),
    ] = None,
) -> None:
    """Bring the platform up until Ctrl-C: Prefect server + UI, runner (or N workers), API; limits and automations
    applied (`nexora setup`)."""
    apply_prefect_env(settings)
    stopping = False

    def handle(signum, _frame):
        nonlocal stopping
        stopping = True

    # before the start: a Ctrl-C while the stack comes up stops it cleanly once it is up
    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    if postgres and not postgres.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        fail("--postgres espera uma URL postgresql://usuario@host:porta/banco")
    stack = _start_stack(workers, postgres)
    console.print(f"Prefect UI: {settings.prefect_ui_url}   API: {stack.api_url}/docs   (Ctrl-C para parar)")
    reported: set[str] = set()
    try:
        while not stopping:
            dead = stack.dead()
            workers = [name for name in dead if name.startswith("worker-")]
            for name in sorted(set(workers) - reported):  # the other workers take the pool's runs
                err.print(
                    f"{name} encerrado; os demais workers seguem atendendo o pool (veja "
                    f"{settings.DATA_DIR / 'logs' / (name + '.log')})"
                )
                reported.add(name)
            if set(dead) - set(workers) or (workers and len(workers) == stack.workers):
                err.print(f"processo(s) encerrado(s): {', '.join(dead)}; veja {settings.DATA_DIR / 'logs'}")
                break
            time.sleep(0.5)
    finally:
        console.print("parando…")
        stack.drain(30, console.print)
        stack.stop()
    if not stopping:
        raise typer.Exit(1)


def demo(
    keep_up: Annotated[bool, typer.Option(help="leave the stack running afterwards")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON at the end")] = False,
) -> None:
    """Run the main job once on the embedded defaults (starts the stack if it is not running)."""
    import httpx

    from deployments.operations.demo import DemoError, run_demo
    from models.crud.apikeys import create_key
    from models.db import session_scope

    apply_prefect_env(settings)
    stack = None
    try:
        httpx.get(f"{settings.api_url}/api/v1/health", timeout=2).raise_for_status()
        console.print(f"usando a plataforma já em execução em {settings.api_url}")
        prepare_database()
    except httpx.HTTPError:
        stack = _start_stack()
    summary = None
    try:
        with session_scope() as session:
            _, raw = create_key(session, f"demo-{int(time.time())}", ["read", "write", "run", "admin"])
        summary = run_demo(settings.api_url, raw, settings.prefect_ui_url, console)
    except DemoError as exc:
        err.print(f"[bold red]erro:[/] {exc}")
    finally:
        if stack is not None and not keep_up:
            stack.drain(60, console.print)
            console.print("parando a plataforma…")
            stack.stop()
    if summary is None:
        raise typer.Exit(1)
    if as_json:
        console.print_json(json.dumps(summary))
    if stack is None or keep_up:
        console.print(f"Prefect UI: {settings.prefect_ui_url}   API: {settings.api_url}/docs")
    else:
        console.print(
            "A plataforma foi parada; [bold]make up[/] a traz de volta com a Prefect UI em "
            f"{settings.prefect_ui_url} (as execuções acima ficam lá) e a API em {settings.api_url}/docs."
        )
