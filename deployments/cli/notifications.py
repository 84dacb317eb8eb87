"""`nexora subscriptions …` and `nexora notifications …`: who gets which events, and what was delivered."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from core.settings import settings
from deployments.cli.common import as_uuid, console, fail, fails_on
from deployments.operations.stack import apply_prefect_env
from models.errors import DomainError

subscriptions_app = typer.Typer(help="Assinaturas de notificações (e-mail e webhooks).", no_args_is_help=True)
notifications_app = typer.Typer(help="Notificações: entregas, tentativas e reenvio.", no_args_is_help=True)


@subscriptions_app.command("add")
@fails_on(ValidationError, DomainError)
def subscriptions_add(
    events: Annotated[str, typer.Option("--events", "-e", help="tipos de evento separados por vírgula, ou *")],
    email: Annotated[str | None, typer.Option(help="endereço de e-mail")] = None,
    webhook: Annotated[str | None, typer.Option(help="URL do webhook")] = None,
    orgao: Annotated[str | None, typer.Option(help="só eventos deste órgão")] = None,
    name: Annotated[str, typer.Option(help="descrição")] = "",
) -> None:
    """Subscribe an e-mail or a webhook to event types; a webhook's signing secret is printed once."""
    from models.crud.notifications import create_subscription
    from models.db import session_scope
    from models.notification import Channel, SubscriptionCreate

    if bool(email) == bool(webhook):
        fail("informe --email ou --webhook (um dos dois)")
    data = SubscriptionCreate(
        name=name,
        channel=Channel.EMAIL if email else Channel.WEBHOOK,
        target=email or webhook,
        orgao=orgao,
        event_types=[e.strip() for e in events.split(",") if e.strip()],
    )
    with session_scope() as session:
        subscription, secret = create_subscription(session, data)
    console.print(
        f"assinatura {subscription.id}: {subscription.channel} {subscription.target} "
        f"← {', '.join(subscription.event_types)}" + (f" (órgão: {subscription.orgao})" if subscription.orgao else "")
    )
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
            table.add_row(
                str(s.channel),
                s.target,
                ", ".join(s.event_types),
                s.orgao or "todos",
                "sim" if s.active else "não",
                str(s.id),
            )
    console.print(table)


@subscriptions_app.command("remove")
@fails_on(DomainError)
def subscriptions_remove(subscription_id: str) -> None:
    """Deactivate a subscription (its delivery history stays)."""
    from models.crud.notifications import deactivate_subscription
    from models.db import session_scope

    with session_scope() as session:
        deactivate_subscription(session, as_uuid(subscription_id))
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
        table = Table(
            "evento", "canal", "destino", "status", "tentativas", "último erro", title=f"{len(rows)} de {total}"
        )
        table.add_column("id", no_wrap=True)
        for n in rows:
            table.add_row(
                n.event_type,
                str(n.channel),
                n.target,
                str(n.status),
                f"{n.attempts}/{n.max_attempts}",
                (n.last_error or "")[:60],
                str(n.id),
            )
    console.print(table)


@notifications_app.command("show")
@fails_on(DomainError)
def notifications_show(notification_id: str) -> None:
    """One notification and every attempt."""
    from models.crud.notifications import get_notification
    from models.db import session_scope

    with session_scope() as session:
        row, event, attempts = get_notification(session, as_uuid(notification_id))
        console.print(
            f"{row.event_type} → {row.channel} {row.target}: [bold]{row.status}[/] "
            f"({row.attempts}/{row.max_attempts} tentativas); evento {event.id}"
        )
        table = Table("nº", "início", "código", "latência (ms)", "resultado", "erro")
        for a in attempts:
            table.add_row(
                str(a.number),
                a.started_at.isoformat(timespec="seconds"),
                str(a.status_code or ""),
                f"{a.latency_ms:.0f}",
                a.outcome,
                a.error or "",
            )
    console.print(table)


@notifications_app.command("retry")
@fails_on(DomainError)
def notifications_retry(
    notification_id: Annotated[str | None, typer.Argument(help="id da notificação")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="reenviar todas as mortas")] = False,
) -> None:
    """Re-drive one notification, or every dead one (--dead); a delivery run starts at once."""
    from models.crud.notifications import redrive, redrive_dead
    from models.db import session_scope
    from tasks.notify.kick import start_delivery_run

    if bool(notification_id) == dead:
        fail("informe o id da notificação ou --dead (um dos dois)")
    with session_scope() as session:
        if dead:
            count = redrive_dead(session)
        else:
            redrive(session, as_uuid(notification_id))
            count = 1
    console.print(f"{count} notificação(ões) de volta à fila")
    if count:
        apply_prefect_env(settings)
        run = start_delivery_run()
        console.print(
            f"execução deliver-notifications {run} iniciada"
            if run
            else "nenhuma execução nova: já há uma para começar, ou o Prefect não respondeu; o agendamento "
            "de 1 minuto entregará"
        )
