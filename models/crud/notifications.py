"""The outbox: events written with the change that causes them, subscriptions, claiming and recording deliveries.

Claiming is one UPDATE over the due rows (FOR UPDATE SKIP LOCKED on PostgreSQL), so two delivery runs never hold
the same row; a claim expires after NOTIFY_LEASE_SECONDS, so a row held by a run that died is sent again later
(receivers deduplicate on the event id, sent as the Idempotency-Key).
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, event, insert, or_, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, func, select

from core import crypto, netguard
from core.settings import settings
from models.db import table_of, utcnow
from models.errors import ConflictError, InvalidError, NotFoundError
from models.events import EVENT_TYPES, WILDCARD, check_event_types
from models.notification import (
    Channel,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    Notification,
    Subscription,
    SubscriptionCreate,
)

EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
PENDING_EVENTS = "nexora_pending_events"
DUE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)

# Subscriptions


def create_subscription(session: Session, data: SubscriptionCreate) -> tuple[Subscription, str | None]:
    """Validate and store a subscription; returns it with the webhook's signing secret (shown once)."""
    try:
        types = check_event_types(data.event_types)
    except ValueError as exc:
        raise InvalidError(str(exc), field="event_types") from exc
    target = data.target.strip()
    secret = None
    if data.channel is Channel.EMAIL:
        if len(target) > 254 or not EMAIL.match(target):
            raise InvalidError(f"E-mail inválido: '{target}'.", field="target")
    else:
        try:
            netguard.check_webhook_target(target)
        except netguard.UnsafeTarget as exc:
            raise InvalidError(f"Webhook recusado: {exc}.", field="target") from exc
        secret = crypto.new_secret()
    subscription = Subscription(
        name=data.name,
        channel=data.channel,
        target=target,
        event_types=types,
        orgao=(data.orgao or "").strip() or None,
        secret_encrypted=crypto.seal(secret) if secret else None,
    )
    session.add(subscription)
    session.flush()
    return subscription, secret


def list_subscriptions(
    session: Session,
    *,
    active: bool | None = None,
    limit: int | None = None,
    offset: int = 0,
    newest_first: bool = False,
) -> list[Subscription]:
    created = col(Subscription.created_at)
    query = select(Subscription).order_by(created.desc() if newest_first else created, col(Subscription.id))
    if active is not None:
        query = query.where(Subscription.active == active)
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return list(session.exec(query).all())


def get_subscription(session: Session, subscription_id: uuid.UUID) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFoundError(f"Assinatura {subscription_id} não encontrada.")
    return subscription


def deactivate_subscription(session: Session, subscription_id: uuid.UUID) -> Subscription:
    """Stop sending new events to it; its delivery history stays."""
    subscription = get_subscription(session, subscription_id)
    subscription.active, subscription.updated_at = False, utcnow()
    session.add(subscription)
    session.flush()
    return subscription


# Events


def record_event(
    session: Session,
    type_: str,
    *,
    orgao: str | None = None,
    document_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
    trace_id: str | None = None,
) -> Event:
    """Write an event and one notification per matching active subscription, in the caller's transaction."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    occurred = utcnow()
    row = Event(
        type=type_, orgao=orgao, document_id=document_id, data=data or {}, trace_id=trace_id, occurred_at=occurred
    )
    session.add(row)
    session.flush()
    fanned = 0
    for subscription in session.exec(select(Subscription).where(Subscription.active == True)).all():  # noqa: E712
        if not _matches(subscription, type_, orgao):
            continue
        session.add(
            Notification(
                event_id=row.id,
                subscription_id=subscription.id,
                event_type=type_,
                channel=subscription.channel,
                target=subscription.target,
                max_attempts=settings.NOTIFY_MAX_ATTEMPTS,
                next_attempt_at=occurred,
            )
        )
        fanned += 1
    session.flush()
    if fanned:
        session.info[PENDING_EVENTS] = True
    return row


def record_document_event(
    session: Session, type_: str, document: Any, *, trace_id: str | None = None, **data: Any
) -> Event:
    """An event about a document, carrying what a message about it needs (kind, process, title, version)."""
    payload = {
        "kind": str(document.kind),
        "numero_processo": document.numero_processo,
        "titulo": document.titulo,
        "version": document.version,
        "status": str(document.status),
    }
    payload.update({key: value for key, value in data.items() if value is not None})
    return record_event(session, type_, orgao=document.orgao, document_id=document.id, data=payload, trace_id=trace_id)


def _matches(subscription: Subscription, type_: str, orgao: str | None) -> bool:
    if WILDCARD not in subscription.event_types and type_ not in subscription.event_types:
        return False
    return subscription.orgao is None or (orgao or "").casefold() == subscription.orgao.casefold()


_committed_listeners: list[Callable[[], None]] = []


def on_events_committed(listener: Callable[[], None]) -> None:
    """Call ``listener`` after any commit that wrote events (the API uses it to start a delivery run at once)."""
    if listener not in _committed_listeners:
        _committed_listeners.append(listener)


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session: OrmSession) -> None:
    if session.info.pop(PENDING_EVENTS, False):
        for listener in _committed_listeners:
            listener()


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(PENDING_EVENTS, None)


# Delivery


@dataclass(frozen=True)
class Job:
    """One claimed notification with what sending it needs."""

    notification_id: uuid.UUID
    attempt: int
    max_attempts: int
    channel: Channel
    target: str
    secret_sealed: str | None
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    orgao: str | None
    document_id: uuid.UUID | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    notification_id: uuid.UUID
    started_at: datetime
    latency_ms: float
    delivered: bool
    retryable: bool
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(col(Notification.status).in_(DUE), col(Notification.next_attempt_at) <= now),
        and_(col(Notification.status) == DeliveryStatus.SENDING, col(Notification.claimed_until) < now),
    )


def claim(session: Session, limit: int, lease_seconds: float | None = None) -> list[Job]:
    """Claim up to ``limit`` due notifications for this caller (committed at once) and return them."""
    now = utcnow()
    token = uuid.uuid4().hex
    lease = timedelta(seconds=lease_seconds or settings.NOTIFY_LEASE_SECONDS)
    due = select(Notification.id).where(_due(now)).order_by(col(Notification.next_attempt_at)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    session.exec(
        update(Notification)
        .where(col(Notification.id).in_(due.scalar_subquery()), _due(now))
        .values(status=DeliveryStatus.SENDING, claim_token=token, claimed_until=now + lease, updated_at=now)
    )
    session.commit()
    rows = session.exec(
        select(Notification, Event, Subscription)
        .join(Event, col(Event.id) == Notification.event_id)
        .join(Subscription, col(Subscription.id) == Notification.subscription_id)
        .where(Notification.claim_token == token, Notification.status == DeliveryStatus.SENDING)
        .order_by(col(Notification.next_attempt_at))
    ).all()
    return [
        Job(
            notification_id=n.id,
            attempt=n.attempts + 1,
            max_attempts=n.max_attempts,
            channel=Channel(n.channel),
            target=n.target,
            secret_sealed=s.secret_encrypted,
            event_id=e.id,
            event_type=e.type,
            occurred_at=e.occurred_at,
            orgao=e.orgao,
            document_id=e.document_id,
            data=e.data,
        )
        for n, e, s in rows
    ]


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential back-off with jitter after failed attempt number ``attempt``; a Retry-After is a floor."""
    ceiling = min(settings.NOTIFY_RETRY_MAX_SECONDS, settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 24 * 3600))
    return delay


def record_outcomes(
    session: Session, jobs: dict[uuid.UUID, Job], outcomes: list[Outcome], flow_run_id: str | None = None
) -> dict[str, int]:
    """Store every attempt and move each notification on: delivered, retrying later, or dead (two bulk
    statements; a row another run has delivered meanwhile, after its claim expired, stays delivered)."""
    counts = {"delivered": 0, "retry": 0, "dead": 0}
    now = utcnow()
    attempts, changes = [], []
    for outcome in outcomes:
        job = jobs[outcome.notification_id]
        if outcome.delivered:
            verdict, status, next_at = "delivered", DeliveryStatus.DELIVERED, now
        elif outcome.retryable and job.attempt < job.max_attempts:
            verdict, status = "retry", DeliveryStatus.RETRYING
            next_at = now + timedelta(seconds=backoff_seconds(job.attempt, outcome.retry_after))
        else:
            verdict, status, next_at = "dead", DeliveryStatus.DEAD, now
        counts[verdict] += 1
        attempts.append(
            {
                "notification_id": job.notification_id,
                "number": job.attempt,
                "started_at": outcome.started_at,
                "latency_ms": round(outcome.latency_ms, 1),
                "status_code": outcome.status_code,
                "outcome": verdict,
                "error": outcome.error,
                "flow_run_id": flow_run_id,
            }
        )
        changes.append(
            {
                "b_id": job.notification_id,
                "b_status": status,
                "b_attempts": job.attempt,
                "b_code": outcome.status_code,
                "b_error": None if outcome.delivered else outcome.error,
                "b_next": next_at,
                "b_delivered": now if outcome.delivered else None,
            }
        )
    if not outcomes:
        return counts
    session.exec(insert(DeliveryAttempt), params=attempts)
    table = table_of(Notification)
    session.exec(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status != DeliveryStatus.DELIVERED)
        .values(
            status=bindparam("b_status"),
            attempts=bindparam("b_attempts"),
            last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"),
            next_attempt_at=bindparam("b_next"),
            delivered_at=bindparam("b_delivered"),
            claim_token=None,
            claimed_until=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False),
        params=changes,
    )
    return counts


def due_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Notification).where(_due(utcnow()))).one()


# Reading and re-driving


def list_notifications(
    session: Session,
    *,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
    target: str | None = None,
    subscription_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    document_id: uuid.UUID | None = None,
    orgaos: Sequence[str] = (),
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Notification], int]:
    """``orgaos``: a key bound to these órgãos sees only the notifications of their events (an event of no órgão, a
    run that failed outside any document, is not theirs either)."""
    filters: list[Any] = []
    if orgaos:
        lowered = [o.strip().lower() for o in orgaos]
        filters.append(col(Notification.event_id).in_(select(Event.id).where(func.lower(Event.orgao).in_(lowered))))
    if document_id:
        filters.append(col(Notification.event_id).in_(select(Event.id).where(Event.document_id == document_id)))
    if status:
        filters.append(Notification.status == status)
    if event_type:
        filters.append(Notification.event_type == event_type)
    if target:
        filters.append(func.lower(Notification.target).like(f"%{target.lower()}%"))
    if subscription_id:
        filters.append(Notification.subscription_id == subscription_id)
    if event_id:
        filters.append(Notification.event_id == event_id)
    total = session.exec(select(func.count()).select_from(Notification).where(*filters)).one()
    rows = session.exec(
        select(Notification).where(*filters).order_by(col(Notification.created_at).desc()).offset(offset).limit(limit)
    ).all()
    return list(rows), total


def get_notification(session: Session, notification_id: uuid.UUID) -> tuple[Notification, Event, list[DeliveryAttempt]]:
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFoundError(f"Notificação {notification_id} não encontrada.")
    attempts = session.exec(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.notification_id == notification_id)
        .order_by(col(DeliveryAttempt.number), col(DeliveryAttempt.id))
    ).all()
    return row, session.get_one(Event, row.event_id), list(attempts)


def redrive(session: Session, notification_id: uuid.UUID) -> Notification:
    """Send a dead (or waiting) notification again now, with a fresh budget of attempts."""
    row = session.exec(select(Notification).where(Notification.id == notification_id).with_for_update()).first()
    if row is None:
        raise NotFoundError(f"Notificação {notification_id} não encontrada.")
    if row.status == DeliveryStatus.DELIVERED:
        raise ConflictError("A notificação já foi entregue; nada a reenviar.", status=str(row.status))
    if row.status == DeliveryStatus.SENDING and row.claimed_until and row.claimed_until > utcnow():
        raise ConflictError("A notificação está sendo enviada agora; aguarde o resultado.", status=str(row.status))
    _requeue(row)
    session.add(row)
    session.flush()
    session.info[PENDING_EVENTS] = True
    return row


def redrive_dead(session: Session) -> int:
    rows = session.exec(select(Notification).where(Notification.status == DeliveryStatus.DEAD).with_for_update()).all()
    for row in rows:
        _requeue(row)
        session.add(row)
    session.flush()
    if rows:
        session.info[PENDING_EVENTS] = True
    return len(rows)


def _requeue(row: Notification) -> None:
    now = utcnow()
    row.status, row.next_attempt_at, row.updated_at = DeliveryStatus.PENDING, now, now
    row.claim_token, row.claimed_until = None, None
    row.max_attempts = row.attempts + settings.NOTIFY_MAX_ATTEMPTS
