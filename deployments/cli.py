"""`nexora`: the operators' command line (stack, demo, templates, API keys, database, deployments)."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import settings
from deployments.stack import apply_prefect_env

app = typer.Typer(help="NEXORA ComprasGov.AI — back office de planejamento de contratações.", no_args_is_help=True)
templates_app = typer.Typer(help="Templates de ETP/TR.", no_args_is_help=True)
apikey_app = typer.Typer(help="Chaves de API.", no_args_is_help=True)
db_app = typer.Typer(help="Banco de dados da aplicação.", no_args_is_help=True)
deployments_app = typer.Typer(help="Deployments do Prefect.", no_args_is_help=True)
documents_app = typer.Typer(help="Documentos ETP/TR.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
app.add_typer(apikey_app, name="apikey")
app.add_typer(db_app, name="db")
app.add_typer(deployments_app, name="deployments")
app.add_typer(documents_app, name="documents")
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]erro:[/] {message}")
    raise typer.Exit(code)


def prepare_database() -> None:
    from models.crud.templates import seed_templates
    from models.db import session_scope
    from models.migrate import upgrade

    upgrade()
    with session_scope() as session:
        seed_templates(session)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations and load the seed templates (idempotent)."""
    prepare_database()
    console.print(f"banco atualizado: {settings.database_url.split('@')[-1]}")


@templates_app.command("list")
def templates_list() -> None:
    """List the templates and their versions."""
    from models.crud.templates import list_templates
    from models.db import session_scope

    with session_scope() as session:
        rows, _ = list_templates(session, limit=200)
        table = Table("tipo", "nome", "versão", "seções")
        table.add_column("id", no_wrap=True)
        for t in rows:
            table.add_row(str(t.kind), t.name, str(t.version), str(len(t.sections)), str(t.id))
    console.print(table)


@templates_app.command("add")
def templates_add(file: Annotated[Path, typer.Argument(help="arquivo JSON do template")]) -> None:
    """Publish a template from a JSON file (same content again: no change; new content: new version)."""
    from models.crud.templates import add_template, load_spec_file
    from models.db import session_scope
    from models.errors import DomainError

    try:
        with session_scope() as session:
            template, created = add_template(session, load_spec_file(file))
            console.print(("publicado" if created else "já existia") +
                          f": {template.name} v{template.version} ({template.id})")
    except DomainError as exc:
        fail(exc.message)


@templates_app.command("show")
def templates_show(template_id: str) -> None:
    """Show a template's sections."""
    import uuid

    from models.crud.templates import get_template
    from models.db import session_scope
    from models.errors import DomainError

    try:
        with session_scope() as session:
            t = get_template(session, uuid.UUID(template_id))
            table = Table("", "slug", "título", "obrigatório", "fundamento", title=f"{t.name} v{t.version}")
            for s in t.sections:
                table.add_row(s["code"], s["slug"], s["title"], "sim" if s["required"] else "não", s["legal_basis"])
    except ValueError:
        fail(f"id inválido: {template_id}")
    except DomainError as exc:
        fail(exc.message)
    console.print(table)


@templates_app.command("seed")
def templates_seed() -> None:
    """Load the bundled templates from seeds/ (idempotent)."""
    prepare_database()
    templates_list()


@apikey_app.command("create")
def apikey_create(name: str, scope: Annotated[list[str], typer.Option("--scope", "-s", help="read, write, run, admin")]
                  = ["read", "write", "run"]) -> None:  # noqa: B006 - typer reads the default
    """Create an API key; the key is shown once."""
    from models.crud.apikeys import create_key
    from models.db import session_scope
    from models.errors import DomainError

    try:
        with session_scope() as session:
            key, raw = create_key(session, name, scope)
    except DomainError as exc:
        fail(exc.message)
    console.print(f"chave '{key.name}' (escopos: {', '.join(key.scopes)}) — guarde-a, ela não será mostrada de novo:")
    print(raw)


@apikey_app.command("revoke")
def apikey_revoke(prefix: str) -> None:
    """Revoke a key by its prefix (the 12 hex characters after nxk_)."""
    from models.crud.apikeys import revoke_key
    from models.db import session_scope
    from models.errors import DomainError

    try:
        with session_scope() as session:
            revoke_key(session, prefix)
    except DomainError as exc:
        fail(exc.message)
    console.print(f"chave {prefix} revogada")


@deployments_app.command("yaml")
def deployments_yaml(check: Annotated[bool, typer.Option(help="only check prefect.yaml is current")] = False) -> None:
    """Write prefect.yaml from the deployment list (or check that it is current)."""
    from deployments.catalog import render_prefect_yaml

    path = Path("prefect.yaml")
    rendered = render_prefect_yaml()
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != rendered:
            fail("prefect.yaml está desatualizado; rode 'nexora deployments yaml'")
        console.print("prefect.yaml em dia")
        return
    path.write_text(rendered, encoding="utf-8")
    console.print(f"escrito {path}")


@documents_app.command("consolidate")
def documents_consolidate(
    document_id: str,
    wait: Annotated[float, typer.Option(help="segundos a esperar pelo fim da execução (0 = não esperar)")] = 120,
) -> None:
    """Consolidate an approved document into DOCX and PDF (starts the consolidate-document deployment)."""
    import asyncio
    import uuid

    from prefect.client.orchestration import get_client

    from core.logging import new_trace_id
    from deployments import prefect_glue as glue
    from deployments import triggers
    from deployments.catalog import CONSOLIDATE_DOCUMENT
    from models.errors import DomainError

    apply_prefect_env(settings)
    try:
        doc = triggers.consolidatable(uuid.UUID(document_id))
    except ValueError:
        fail(f"id inválido: {document_id}")
    except DomainError as exc:
        fail(exc.message)

    async def run() -> dict:
        async with get_client() as client:
            flow_run = await glue.start_run(
                client, CONSOLIDATE_DOCUMENT.full_name, {"document_id": document_id}, trace_id=new_trace_id(),
                tags=triggers.run_tags(doc), name=f"consolidate-{doc['kind']}-{doc['processo']}-v{doc['version']}")
            console.print(f"execução {flow_run.id} ({flow_run.name}) iniciada")
            if wait:
                flow_run = await glue.wait_for_run(client, flow_run.id, wait)
            return await glue.describe_run(flow_run, settings.prefect_ui_url)

    status = asyncio.run(run())
    console.print(f"estado: {status['state']} — {status['ui_url']}")
    if status["state"] == "COMPLETED":
        for artifact in status["result"]["artifacts"]:
            console.print(f"  {artifact['format']}: {artifact['storage_uri']} ({artifact['size_bytes']:,} bytes)")
    elif status["final"]:
        fail(status["message"] or "a consolidação falhou")


@app.command("runner")
def runner() -> None:
    """Serve every deployment in this process (the embedded flow runner)."""
    from deployments.runner import main

    main()


def _start_stack():
    from deployments.catalog import DEPLOYMENTS
    from deployments.stack import Stack, StackError

    prepare_database()
    stack = Stack(settings)
    console.print("iniciando Prefect server, runner e API…")
    try:
        stack.start([spec.full_name for spec in DEPLOYMENTS])
    except StackError as exc:
        stack.stop()
        fail(str(exc))
    return stack


@app.command("up")
def up() -> None:
    """Bring the embedded platform up (Prefect server + UI, runner, API) until Ctrl-C."""
    apply_prefect_env(settings)
    stack = _start_stack()
    console.print(f"Prefect UI: {settings.prefect_ui_url}   API: {stack.api_url}/docs   (Ctrl-C para parar)")
    stopping = False

    def handle(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    try:
        while not stopping:
            dead = stack.dead()
            if dead:
                err.print(f"processo(s) encerrado(s): {', '.join(dead)}; veja {settings.DATA_DIR / 'logs'}")
                break
            time.sleep(0.5)
    finally:
        console.print("parando…")
        stack.stop()
    if not stopping:
        raise typer.Exit(1)


@app.command("demo")
def demo(keep_up: Annotated[bool, typer.Option(help="leave the stack running afterwards")] = False) -> None:
    """Run the main job once on the embedded defaults (starts the stack if it is not running)."""
    import httpx

    from deployments.demo import DemoError, run_demo
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
    try:
        with session_scope() as session:
            _, raw = create_key(session, f"demo-{int(time.time())}", ["read", "write", "run"])
        summary = run_demo(settings.api_url, raw, settings.prefect_ui_url, console)
        console.print_json(json.dumps(summary))
    except DemoError as exc:
        fail(str(exc))
    finally:
        if stack is not None and not keep_up:
            stack.stop()


if __name__ == "__main__":
    sys.exit(app())
