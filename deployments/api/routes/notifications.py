"""Subscriptions (who hears which events) and notifications (each delivery, its attempts, re-drive)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel
from sqlmodel import Session

from deployments.api.deps import AdminKey, Offset, ReadKey, SessionDep
from models.apikey import ApiKey, reaches
from models.crud import notifications as crud
from models.enums import Scope
from models.errors import NotFoundError
from models.events import EVENT_TYPES
from models.notification import (
    AttemptPublic,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    Notification,
    NotificationDetail,
    NotificationPublic,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
    masked_target,
)

router = APIRouter(prefix="/api/v1", tags=["notifications"])


class NotificationsPage(BaseModel):
    data: list[NotificationPublic]
    count: int


class Redriven(BaseModel):
    requeued: int


@router.get("/event-types", response_model=dict[str, str])
def event_types(_: ReadKey) -> dict[str, str]:
    """The event types one can subscribe to, with their names."""
    return EVENT_TYPES


@router.post("/subscriptions", response_model=SubscriptionCreated, status_code=status.HTTP_201_CREATED)
def create_subscription(session: SessionDep, _: AdminKey, body: SubscriptionCreate) -> SubscriptionCreated:
    """Subscribe an e-mail address or a webhook URL to event types (optionally of one órgão). A webhook's signing
    secret is in this answer only: store it now."""
    subscription, secret = crud.create_subscription(session, body)
    return SubscriptionCreated(
        **SubscriptionPublic.model_validate(subscription, from_attributes=True).model_dump(), secret=secret
    )


@router.get("/subscriptions", response_model=list[SubscriptionPublic])
def list_subscriptions(
    session: SessionDep,
    _: AdminKey,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[SubscriptionPublic]:
    """Subscriptions, newest first (`limit` ≤ 500, `offset` to page)."""
    return [
        SubscriptionPublic.model_validate(s, from_attributes=True)
        for s in crud.list_subscriptions(session, active=active, limit=limit, offset=offset, newest_first=True)
    ]


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionPublic)
def read_subscription(session: SessionDep, _: AdminKey, subscription_id: uuid.UUID) -> SubscriptionPublic:
    return SubscriptionPublic.model_validate(crud.get_subscription(session, subscription_id), from_attributes=True)


@router.delete("/subscriptions/{subscription_id}", response_model=SubscriptionPublic)
def delete_subscription(session: SessionDep, _: AdminKey, subscription_id: uuid.UUID) -> SubscriptionPublic:
    """Deactivate: no new notifications; what was already queued is still delivered, and the history stays."""
    return SubscriptionPublic.model_validate(
        crud.deactivate_subscription(session, subscription_id), from_attributes=True
    )


def _admin(key: ApiKey) -> bool:
    return Scope.ADMIN.value in key.scopes


def _public(row: Notification, key: ApiKey) -> NotificationPublic:
    """Without admin, the target masked (a webhook URL may hold a token; an e-mail is a person's) and no error text
    (it names the receiver's addresses and failures)."""
    public = NotificationPublic.model_validate(row, from_attributes=True)
    if _admin(key):
        return public
    return public.model_copy(update={"target": masked_target(row.channel, row.target), "last_error": None})


def _target_filter_refused(key: ApiKey) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN,
        f"A chave '{key.name}' não tem o escopo 'admin', exigido para filtrar por destino; filtre por subscription_id.",
    )


@router.get("/notifications", response_model=NotificationsPage)
def list_notifications(
    session: SessionDep,
    key: ReadKey,
    status: DeliveryStatus | None = None,
    event: Annotated[str | None, Query(max_length=100, description="tipo de evento")] = None,
    target: Annotated[
        str | None, Query(max_length=500, description="parte do e-mail ou da URL (só com o escopo admin)")
    ] = None,
    subscription_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
    document_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> NotificationsPage:
    """Notifications, newest first, filtered by status, event type, target (admin), subscription, event or
    document. Without admin, targets are masked and `last_error` is empty; a key bound to órgãos sees only theirs."""
    if target and not _admin(key):  # a substring filter would read a masked URL back one letter at a time
        raise _target_filter_refused(key)
    rows, total = crud.list_notifications(
        session,
        status=status,
        event_type=event,
        target=target,
        subscription_id=subscription_id,
        event_id=event_id,
        document_id=document_id,
        orgaos=key.orgaos,
        limit=limit,
        offset=offset,
    )
    return NotificationsPage(data=[_public(r, key) for r in rows], count=total)


# `:uuid`: /notifications/retry-dead is its own resource (a GET there is a 405, not a malformed id)
@router.get("/notifications/{notification_id:uuid}", response_model=NotificationDetail)
def read_notification(session: SessionDep, key: ReadKey, notification_id: uuid.UUID) -> NotificationDetail:
    """One notification with its event and every attempt (time, status code, latency; the error with admin). A key
    bound to órgãos meets another órgão's notification as one that does not exist."""
    return _detail(*_reached(session, key, notification_id), key)


@router.post("/notifications/{notification_id:uuid}/retry", response_model=NotificationDetail)
def retry_notification(session: SessionDep, key: AdminKey, notification_id: uuid.UUID) -> NotificationDetail:
    """Re-drive (admin): send again now with a fresh budget of attempts (dead, retrying or pending; not delivered)."""
    if key.orgaos:
        _reached(session, key, notification_id)
    crud.redrive(session, notification_id)
    return _detail(*crud.get_notification(session, notification_id), key)


def _reached(
    session: Session, key: ApiKey, notification_id: uuid.UUID
) -> tuple[Notification, Event, list[DeliveryAttempt]]:
    """The notification with its event and attempts; for a key bound to órgãos, one of another órgão's events (or
    of none) is a notification that does not exist."""
    row, event, attempts = crud.get_notification(session, notification_id)
    if key.orgaos and (event.orgao is None or not reaches(key, event.orgao)):
        raise NotFoundError(f"Notificação {notification_id} não encontrada.")
    return row, event, attempts


@router.post("/notifications/retry-dead", response_model=Redriven)
def retry_dead(session: SessionDep, _: AdminKey) -> Redriven:
    """Re-drive every dead notification (admin)."""
    return Redriven(requeued=crud.redrive_dead(session))


def _detail(row: Notification, event: Event, attempts: list[DeliveryAttempt], key: ApiKey) -> NotificationDetail:
    log = [AttemptPublic.model_validate(a, from_attributes=True) for a in attempts]
    if not _admin(key):
        log = [a.model_copy(update={"error": None}) for a in log]
    return NotificationDetail(
        **_public(row, key).model_dump(),
        event={
            "id": str(event.id),
            "type": event.type,
            "orgao": event.orgao,
            "document_id": str(event.document_id) if event.document_id else None,
            "occurred_at": event.occurred_at.isoformat(),
            "data": event.data,
        },
        attempt_log=log,
    )
