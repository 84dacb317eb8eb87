"""The per-key limits in the database, each taken by one atomic statement so that every API process shares them:
a token bucket per key and class of route, and a key's daily budget of language-model calls."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from models.db import table_of
from models.key_limits import LlmBudgetDay, RateBucket


def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _least_greatest(session: Session) -> tuple[Any, Any]:
    """LEAST/GREATEST on PostgreSQL; SQLite's min()/max() of two arguments are the same scalar functions."""
    if session.get_bind().dialect.name == "postgresql":
        return func.least, func.greatest
    return func.min, func.max


def refilled(tokens: float, elapsed: float, rate_per_second: float, burst: int) -> float:
    """The tokens of a bucket ``elapsed`` seconds after it held ``tokens`` (a clock that went back refills none)."""
    return min(float(burst), tokens + max(elapsed, 0.0) * rate_per_second)


def take_token(
    session: Session, key_id: uuid.UUID, route_class: str, rate_per_second: float, burst: int, now: float
) -> float:
    """Take a token of the key's bucket for ``route_class``: 0 when granted, else the seconds until one comes.

    One INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING: the refill, the check and the take happen in the database
    under the row's lock, so concurrent requests through any number of API processes never both take the last
    token. Run it as the first statement of its transaction (on SQLite it then waits for the write lock instead of
    failing on a stale snapshot)."""
    table = table_of(RateBucket)
    least, greatest = _least_greatest(session)
    tokens: ColumnElement[float] = least(burst, table.c.tokens + greatest(now - table.c.stamp, 0.0) * rate_per_second)
    statement = (
        _insert(session, table)
        .values(key_id=key_id, route_class=route_class, tokens=float(burst) - 1, stamp=now)
        .on_conflict_do_update(
            index_elements=[table.c.key_id, table.c.route_class],
            set_={"tokens": tokens - 1, "stamp": greatest(table.c.stamp, now)},
            where=tokens >= 1,
        )
        .returning(table.c.tokens)
    )
    if session.connection().execute(statement).first() is not None:
        return 0.0
    bucket = session.get(RateBucket, (key_id, route_class))
    if bucket is None:  # gone in between (a reset): the next request starts a full bucket
        return 0.0
    left = refilled(bucket.tokens, now - bucket.stamp, rate_per_second, burst)
    return max((1 - left) / rate_per_second, 0.001)


def charge_llm_calls(session: Session, key_id: uuid.UUID, day: date, calls: int, budget: int) -> int | None:
    """Count ``calls`` against the key's budget for ``day``: the calls used with them, or None (nothing counted) when
    they do not fit in ``budget``. One atomic upsert, like ``take_token``."""
    table = table_of(LlmBudgetDay)
    if calls > budget:
        return None
    statement = (
        _insert(session, table)
        .values(key_id=key_id, day=day, calls=calls)
        .on_conflict_do_update(
            index_elements=[table.c.key_id, table.c.day],
            set_={"calls": table.c.calls + calls},
            where=table.c.calls + calls <= budget,
        )
        .returning(table.c.calls)
    )
    row = session.connection().execute(statement).first()
    return None if row is None else int(row[0])


def refund_llm_calls(session: Session, key_id: uuid.UUID, day: date, calls: int) -> None:
    """Give back calls counted for a run that was not started."""
    table = table_of(LlmBudgetDay)
    _, greatest = _least_greatest(session)
    session.connection().execute(
        table.update()
        .where(table.c.key_id == key_id, table.c.day == day)
        .values(calls=greatest(table.c.calls - calls, 0))
    )


def llm_calls_used(session: Session, key_id: uuid.UUID, day: date) -> int:
    row = session.get(LlmBudgetDay, (key_id, day))
    return row.calls if row is not None else 0
