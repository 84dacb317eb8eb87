"""Per-key limits shared by every API process: a token bucket per key and class of route (reads, writes, flow runs),
and the language-model calls a key's drafting runs used per day (Brasília's day)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import CheckConstraint, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel


class RateBucket(SQLModel, table=True):
    __tablename__ = "api_rate_buckets"
    __table_args__ = (PrimaryKeyConstraint("key_id", "route_class", name="pk_api_rate_buckets"),)

    key_id: uuid.UUID
    route_class: str = Field(max_length=16)  # read, write, run
    tokens: float  # what was left at `stamp`
    stamp: float  # seconds since the epoch of the last request counted


class LlmBudgetDay(SQLModel, table=True):
    __tablename__ = "llm_budget_days"
    __table_args__ = (
        PrimaryKeyConstraint("key_id", "day", name="pk_llm_budget_days"),
        CheckConstraint("calls >= 0", name="ck_llm_budget_days_calls"),
    )

    key_id: uuid.UUID
    day: date  # in Brasília (models.price_dates.BRASILIA)
    calls: int = 0
