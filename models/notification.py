"""Notifications: the outbox of events, who subscribes to them, one delivery row per (event, subscriber), and
every delivery attempt.

An event is written in the same transaction as the change that causes it, together with one notification row
per matching subscription; `deliver-notifications` claims due rows, sends them, and records each attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.validation import REQUEST_BODY
from models.db import UtcDateTime, utcnow


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first attempt
    SENDING = "sending"  # claimed by a delivery run until claimed_until
    RETRYING = "retrying"  # an attempt failed; the next one is due at next_attempt_at
    DELIVERED = "delivered"
    DEAD = "dead"  # given up (permanent error or attempts exhausted): re-drive by hand


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type_occurred", "type", "occurred_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    type: str = Field(sa_type=String(60))
    orgao: str | None = Field(default=None, max_length=200)
    document_id: uuid.UUID | None = Field(default=None, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    trace_id: str | None = Field(default=None, max_length=64)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(default="", max_length=120)
    channel: Channel = Field(sa_type=String(10))
    target: str = Field(max_length=1000)
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    orgao: str | None = Field(default=None, max_length=200)  # None: every órgão
    secret_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", name="uq_notifications_event_subscription"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_id: uuid.UUID = Field(sa_column=Column(ForeignKey("events.id"), nullable=False, index=True))
    subscription_id: uuid.UUID = Field(sa_column=Column(ForeignKey("subscriptions.id"), nullable=False, index=True))
    event_type: str = Field(sa_type=String(60), index=True)
    channel: Channel = Field(sa_type=String(10))
    target: str = Field(max_length=1000, index=True)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=String(10))
    attempts: int = 0
    max_attempts: int = Field(default=8, ge=1)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime())
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    number: int
    started_at: datetime = Field(sa_type=UtcDateTime())
    latency_ms: float
    status_code: int | None = None
    outcome: str = Field(sa_type=String(10))  # delivered | retry | dead
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    flow_run_id: str | None = Field(default=None, max_length=64)


# API schemas


class SubscriptionCreate(SQLModel):
    model_config = REQUEST_BODY
    name: str = Field(default="", max_length=120)
    channel: Channel
    target: str = Field(min_length=3, max_length=1000)
    event_types: list[str] = Field(min_length=1, max_length=50)
    orgao: str | None = Field(default=None, max_length=200)


class SubscriptionPublic(SQLModel):
    id: uuid.UUID
    name: str
    channel: Channel
    target: str
    event_types: list[str]
    orgao: str | None
    active: bool
    created_at: datetime


class SubscriptionCreated(SubscriptionPublic):
    secret: str | None = None  # the webhook's signing secret, shown only in this answer


class AttemptPublic(SQLModel):
    number: int
    started_at: datetime
    latency_ms: float
    status_code: int | None
    outcome: str
    error: str | None


class NotificationPublic(SQLModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    subscription_id: uuid.UUID
    channel: Channel
    target: str
    status: DeliveryStatus
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class NotificationDetail(NotificationPublic):
    event: dict[str, Any]
    attempt_log: list[AttemptPublic]


def masked_target(channel: Channel | str, target: str) -> str:
    """A target as keys without admin see it: an e-mail's first letter and domain; a webhook's scheme, host without
    its first label, and port (a token may be anywhere else: path, query, a per-receiver subdomain)."""
    if channel == Channel.EMAIL:
        local, _, domain = target.rpartition("@")
        return f"{local[:1]}***@{domain}" if local and domain else "***"
    try:
        parts = urlsplit(target)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "***"
    labels = host.split(".")
    if len(labels) > 2 and not host.replace(".", "").isdigit():
        host = ".".join(["***", *labels[1:]])
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}/***"
