"""The per-key limits in the database, on SQLite and PostgreSQL: a token bucket refills at its rate up to its burst,
per key and class, and concurrent takes from many connections never grant more than the bucket holds; the daily
budget of language-model calls counts, refuses what does not fit (counting nothing) and gives back."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from models.crud.key_limits import charge_llm_calls, llm_calls_used, refund_llm_calls, take_token
from models.db import get_engine, session_scope

DAY = date(2026, 12, 4)


def _take(url: str, key: uuid.UUID, route: str, now: float, rate: float = 0.5, burst: int = 2) -> float:
    with session_scope(url) as session:
        return take_token(session, key, route, rate, burst, now)


def test_the_models_match_migration_0022(db_url):
    with get_engine(db_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = [
            d
            for d in compare_metadata(context, SQLModel.metadata)
            if "api_rate_buckets" in repr(d) or "llm_budget_days" in repr(d)
        ]
    assert diffs == []


def test_the_bucket_refills_at_its_rate_per_key_and_class(db_url):
    key, other = uuid.uuid4(), uuid.uuid4()
    assert [_take(db_url, key, "read", 1000.0) for _ in range(2)] == [0.0, 0.0]
    assert _take(db_url, key, "read", 1000.0) == pytest.approx(2.0)  # one token comes in 2 s at 0.5/s
    assert _take(db_url, key, "read", 1001.0) == pytest.approx(1.0)
    assert _take(db_url, key, "read", 1002.0) == 0.0
    assert _take(db_url, other, "read", 1002.0) == 0.0  # per key
    assert _take(db_url, key, "write", 1002.0) == 0.0  # per class
    assert _take(db_url, key, "read", 1100.0) == 0.0 and _take(db_url, key, "read", 1100.0) == 0.0  # up to the burst
    assert _take(db_url, key, "read", 1100.0) > 0
    assert _take(db_url, key, "read", 900.0) > 0  # a clock that went back refills nothing


def test_concurrent_takes_never_grant_more_than_the_burst(db_url):
    key, granted, start = uuid.uuid4(), [], threading.Barrier(16)

    def take() -> None:
        start.wait()
        if _take(db_url, key, "run", 5000.0, rate=0.001, burst=5) == 0.0:
            granted.append(1)

    threads = [threading.Thread(target=take) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 5


def test_the_llm_budget_counts_refuses_and_gives_back(db_url):
    key, other = uuid.uuid4(), uuid.uuid4()
    with session_scope(db_url) as session:
        assert charge_llm_calls(session, key, DAY, 3, budget=5) == 3
        assert charge_llm_calls(session, key, DAY, 3, budget=5) is None  # does not fit: nothing counted
        assert llm_calls_used(session, key, DAY) == 3
        assert charge_llm_calls(session, key, DAY, 2, budget=5) == 5
        assert charge_llm_calls(session, other, DAY, 5, budget=5) == 5  # per key
        assert charge_llm_calls(session, key, date(2026, 12, 5), 1, budget=5) == 1  # per day
        refund_llm_calls(session, key, DAY, 2)
        assert llm_calls_used(session, key, DAY) == 3
        assert charge_llm_calls(session, key, DAY, 6, budget=5) is None
