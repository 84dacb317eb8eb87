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
from core.validation import describe, summary
from deployments.stack import apply_prefect_env

app = typer.Typer(help="NEXORA ComprasGov.AI — back office de planejamento de contratações.", no_args_is_help=True)
templates_app = typer.Typer(help="Templates de ETP/TR.", no_args_is_help=True)
apikey_app = typer.Typer(help="Chaves de API.", no_args_is_help=True)
db_app = typer.Typer(help="Banco de dados da aplicação.", no_args_is_help=True)
deployments_app = typer.Typer(help="Deployments do Prefect.", no_args_is_help=True)
documents_app = typer.Typer(help="Documentos ETP/TR.", no_args_is_help=True)
subscriptions_app = typer.Typer(help="Assinaturas de notificações (e-mail e webhooks).", no_args_is_help=True)
notifications_app = typer.Typer(help="Notificações: entregas, tentativas e reenvio.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
app.add_typer(apikey_app, name="apikey")
app.add_typer(db_app, name="db")
app.add_typer(deployments_app, name="deployments")
app.add_typer(documents_app, name="documents")
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(notifications_app, name="notifications")
console = Console()
err = Console(stderr=True)


@app.callback()
def _prefect_settings_first() -> None:
    # Prefect reads its settings once, when first imported: point it at this platform's server before any
    # command imports it (otherwise a command talks to a temporary server of its own, seconds later and empty)
    apply_prefect_env(settings)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]erro:[/] {message}", soft_wrap=True)  # one line, however long
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


@deployments_app.command("status")
def deployments_status(as_json: Annotated[bool, typer.Option("--json", help="uma lista JSON, para scripts")] = False
                       ) -> None:
    """Each deployment's schedules, next scheduled run and last run, as the Prefect server holds them."""
    import asyncio

    import httpx
    from prefect.client.orchestration import get_client

    from deployments.schedule_status import deployments_status as read_status

    apply_prefect_env(settings)

    async def read():
        async with get_client() as client:
            return await read_status(client)

    try:
        rows = asyncio.run(read())
    except httpx.HTTPError as exc:
        from deployments.cli_runs import _prefect_down

        fail(_prefect_down(exc))
    if as_json:
        typer.echo(json.dumps([{"deployment": row.deployment, **row.as_json()} for row in rows], ensure_ascii=False,
                              indent=2))
        return
    console.print(deployments_table(rows))


def deployments_table(rows) -> Table:
    """Each deployment's schedules, next and last run, at 80 columns."""
    from rich import box

    table = Table(title="deployments", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="horários em America/Sao_Paulo", caption_justify="left")
    for column in ("deployment", "agendamento", "próxima", "última"):
        table.add_column(column, overflow="fold")
    for row in rows:
        schedule = "\n".join(row.schedules) or "sob demanda"
        if row.paused:
            schedule += "\n(pausado)"
        last = f"{row.last_run_state}\n{row.last_run_time:%d/%m %H:%M}" if row.last_run_time else "-"
        upcoming = f"{row.next_run:%d/%m/%Y %H:%M}" if row.next_run else "-"
        if row.problem:
            upcoming = f"[red]{row.problem}[/]"
        table.add_row(row.deployment, schedule, upcoming, last)
    return table


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


@subscriptions_app.command("add")
def subscriptions_add(
    events: Annotated[str, typer.Option("--events", "-e", help="tipos de evento separados por vírgula, ou *")],
    email: Annotated[str | None, typer.Option(help="endereço de e-mail")] = None,
    webhook: Annotated[str | None, typer.Option(help="URL do webhook")] = None,
    orgao: Annotated[str | None, typer.Option(help="só eventos deste órgão")] = None,
    name: Annotated[str, typer.Option(help="descrição")] = "",
) -> None:
    """Subscribe an e-mail or a webhook to event types; a webhook's signing secret is printed once."""
    from pydantic import ValidationError

    from models.crud.notifications import create_subscription
    from models.db import session_scope
    from models.errors import DomainError
    from models.notification import Channel, SubscriptionCreate

    if bool(email) == bool(webhook):
        fail("informe --email ou --webhook (um dos dois)")
    try:
        data = SubscriptionCreate(name=name, channel=Channel.EMAIL if email else Channel.WEBHOOK,
                                  target=email or webhook, orgao=orgao,
                                  event_types=[e.strip() for e in events.split(",") if e.strip()])
        with session_scope() as session:
            subscription, secret = create_subscription(session, data)
    except ValidationError as exc:
        fail(summary(describe(exc.errors(), root="")))
    except DomainError as exc:
        fail(exc.message)
    console.print(f"assinatura {subscription.id}: {subscription.channel} {subscription.target} "
                  f"← {', '.join(subscription.event_types)}" + (f" (órgão: {subscription.orgao})"
                                                                 if subscription.orgao else ""))
    if secret:
        console.print("segredo de assinatura HMAC do webhook — guarde-o, ele não será mostrado de novo:")
        print(secret)


@subscriptions_app.command("list")
def subscriptions_list(all_: Annotated[bool, typer.Option("--all", help="incluir as desativadas")] = False) -> None:
    """List the subscriptions."""
    from models.crud.notifications import list_subscriptions
    from models.db import session_scope

    with session_scope() as session:
        rows = list_subscriptions(session, active=None if all_ else True)
        table = Table("canal", "destino", "eventos", "órgão", "ativa")
        table.add_column("id", no_wrap=True)
        for s in rows:
            table.add_row(str(s.channel), s.target, ", ".join(s.event_types), s.orgao or "todos",
                          "sim" if s.active else "não", str(s.id))
    console.print(table)


@subscriptions_app.command("remove")
def subscriptions_remove(subscription_id: str) -> None:
    """Deactivate a subscription (its delivery history stays)."""
    import uuid

    from models.crud.notifications import deactivate_subscription
    from models.db import session_scope
    from models.errors import DomainError

    try:
        with session_scope() as session:
            deactivate_subscription(session, uuid.UUID(subscription_id))
    except ValueError:
        fail(f"id inválido: {subscription_id}")
    except DomainError as exc:
        fail(exc.message)
    console.print(f"assinatura {subscription_id} desativada")


@notifications_app.command("list")
def notifications_list(
    status: Annotated[str | None, typer.Option(help="pending, sending, retrying, delivered, dead")] = None,
    event: Annotated[str | None, typer.Option(help="tipo de evento")] = None,
    target: Annotated[str | None, typer.Option(help="parte do e-mail ou da URL")] = None,
    limit: int = 50,
) -> None:
    """List notifications, newest first."""
    from models.crud.notifications import list_notifications
    from models.db import session_scope
    from models.notification import DeliveryStatus

    try:
        wanted = DeliveryStatus(status) if status else None
    except ValueError:
        fail(f"status inválido: {status}; use {', '.join(s.value for s in DeliveryStatus)}")
    with session_scope() as session:
        rows, total = list_notifications(session, status=wanted, event_type=event, target=target, limit=limit)
        table = Table("evento", "canal", "destino", "status", "tentativas", "último erro",
                      title=f"{len(rows)} de {total}")
        table.add_column("id", no_wrap=True)
        for n in rows:
            table.add_row(n.event_type, str(n.channel), n.target, str(n.status), f"{n.attempts}/{n.max_attempts}",
                          (n.last_error or "")[:60], str(n.id))
    console.print(table)


@notifications_app.command("show")
def notifications_show(notification_id: str) -> None:
    """One notification and every attempt."""
    import uuid

    from models.crud.notifications import get_notification
    from models.db import session_scope
    from models.errors import DomainError

    try:
        with session_scope() as session:
            row, event, attempts = get_notification(session, uuid.UUID(notification_id))
            console.print(f"{row.event_type} → {row.channel} {row.target}: [bold]{row.status}[/] "
                          f"({row.attempts}/{row.max_attempts} tentativas); evento {event.id}")
            table = Table("nº", "início", "código", "latência (ms)", "resultado", "erro")
            for a in attempts:
                table.add_row(str(a.number), a.started_at.isoformat(timespec="seconds"), str(a.status_code or ""),
                              f"{a.latency_ms:.0f}", a.outcome, a.error or "")
    except ValueError:
        fail(f"id inválido: {notification_id}")
    except DomainError as exc:
        fail(exc.message)
    console.print(table)


@notifications_app.command("retry")
def notifications_retry(
    notification_id: Annotated[str | None, typer.Argument(help="id da notificação")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="reenviar todas as mortas")] = False,
) -> None:
    """Re-drive one notification, or every dead one (--dead); a delivery run starts at once."""
    import uuid

    from models.crud.notifications import redrive, redrive_dead
    from models.db import session_scope
    from models.errors import DomainError
    from tasks.notify.kick import start_delivery_run

    if bool(notification_id) == dead:
        fail("informe o id da notificação ou --dead (um dos dois)")
    try:
        with session_scope() as session:
            if dead:
                count = redrive_dead(session)
            else:
                redrive(session, uuid.UUID(notification_id))
                count = 1
    except ValueError:
        fail(f"id inválido: {notification_id}")
    except DomainError as exc:
        fail(exc.message)
    console.print(f"{count} notificação(ões) de volta à fila")
    if count:
        apply_prefect_env(settings)
        run = start_delivery_run()
        console.print(f"execução deliver-notifications {run} iniciada" if run else
                      "nenhuma execução nova: já há uma para começar, ou o Prefect não respondeu; o agendamento "
                      "de 1 minuto entregará")


def start_and_follow(spec, parameters: dict, tags: list[str], wait: float, failure: str) -> None:
    """Start a run of a deployment, follow it up to ``wait`` seconds, print its state (and result), fail if it
    failed."""
    import asyncio

    from prefect.client.orchestration import get_client

    from core.logging import new_trace_id
    from deployments import prefect_glue as glue

    apply_prefect_env(settings)

    async def run() -> dict:
        async with get_client() as client:
            flow_run = await glue.start_run(client, spec.full_name, parameters, trace_id=new_trace_id(), tags=tags,
                                            name=spec.flow_name)
            console.print(f"execução {flow_run.id} ({flow_run.name}) iniciada")
            if wait:
                flow_run = await glue.wait_for_run(client, flow_run.id, wait)
            return await glue.describe_run(flow_run, settings.prefect_ui_url)

    status = asyncio.run(run())
    console.print(f"estado: {status['state']} — {status['ui_url']}")
    if status["final"] and status["state"] != "COMPLETED":
        fail(status["message"] or failure)
    if status["state"] == "COMPLETED":
        console.print_json(json.dumps(status["result"]))


@app.command("backup")
def backup_command(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="arquivo .tar.gz ou pasta (nome com data e "
                                                                   "hora); padrão DATA_DIR/backups")] = None,
) -> None:
    """Back up the app database, the local artifacts and (embedded) the MLflow store into one .tar.gz."""
    from deployments.backup import BackupError, backup

    started = time.monotonic()
    output = output or settings.DATA_DIR / "backups"
    if not output.name.endswith((".tar.gz", ".tgz")):
        output.mkdir(parents=True, exist_ok=True)
    try:
        manifest = backup(settings, output)
    except BackupError as exc:
        fail(str(exc))
    rows = sum(manifest["row_counts"].values())
    console.print(f"backup {manifest['archive']}: {manifest['archive_bytes'] / 2**20:.1f} MiB, banco "
                  f"{manifest['database']} ({rows} linhas em {len(manifest['row_counts'])} tabelas), "
                  f"{len(manifest['files']) - 1} arquivos, em {time.monotonic() - started:.1f} s")


@app.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="arquivo criado por `nexora backup`")],
    force: Annotated[bool, typer.Option(help="substituir um banco que já tem documentos")] = False,
) -> None:
    """Restore a backup into DATABASE_URL, ARTIFACTS_DIR and (embedded) the MLflow store; checks every hash first
    and the row counts after. Stop the API and the workers before."""
    from deployments.backup import BackupError, restore

    started = time.monotonic()
    try:
        manifest = restore(settings, archive, force=force)
    except BackupError as exc:
        fail(str(exc))
    counts = manifest["restored_row_counts"]
    console.print(f"restaurado de {archive}: {counts.get('documents', 0)} documentos, "
                  f"{counts.get('artifacts', 0)} artefatos, {counts.get('notifications', 0)} notificações, "
                  f"{len(manifest['files']) - 1} arquivos conferidos, em {time.monotonic() - started:.1f} s")


@app.command("runner")
def runner() -> None:
    """Serve every deployment in this process (the embedded flow runner)."""
    from deployments.runner import main

    main()


def _start_stack(workers: int = 0, postgres: str | None = None):
    from deployments.catalog import DEPLOYMENTS
    from deployments.stack import Stack, StackError, ensure_postgres_database

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


@app.command("up")
def up(
    workers: Annotated[int, typer.Option(min=0, max=16, help="N workers de processo no pool nexora-process (0: o "
                                                            "runner embutido)")] = 0,
    postgres: Annotated[str | None, typer.Option(help="URL PostgreSQL do banco da aplicação; o do servidor Prefect "
                                                      "fica ao lado (<banco>_prefect)")] = None,
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
                err.print(f"{name} encerrado; os demais workers seguem atendendo o pool (veja "
                          f"{settings.DATA_DIR / 'logs' / (name + '.log')})")
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


@app.command("demo")
def demo(keep_up: Annotated[bool, typer.Option(help="leave the stack running afterwards")] = False,
         as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON at the end")] = False,
         ) -> None:
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
        console.print("A plataforma foi parada; [bold]make up[/] a traz de volta com a Prefect UI em "
                      f"{settings.prefect_ui_url} (as execuções acima ficam lá) e a API em {settings.api_url}/docs.")


from deployments.cli_pncp import pncp_app  # noqa: E402 - after `app`, whose helpers it uses lazily

app.add_typer(pncp_app, name="pncp")

from deployments.cli_model import model_app  # noqa: E402 - after `app`, whose helpers it uses lazily

app.add_typer(model_app, name="model")

from deployments.cli_runs import runs_app  # noqa: E402 - after `app`, whose helpers it uses lazily

app.add_typer(runs_app, name="runs")

from deployments.cli_ops import setup  # noqa: E402 - after `app`, whose helpers it uses lazily

app.command("setup")(setup)

if __name__ == "__main__":
    sys.exit(app())
