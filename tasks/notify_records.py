"""Database tasks of deliver-notifications: claim a batch, record its outcomes (retried on database errors)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.crud.notifications import Job, Outcome, claim, record_outcomes
from models.db import session_scope
from tasks.records import DB_RETRIES


@task(name="claim-notifications", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def claim_batch(limit: int) -> list[Job]:
    """Claim up to ``limit`` due notifications for this run."""
    with session_scope() as session:
        return claim(session, limit)


@task(name="record-deliveries", cache_policy=NO_CACHE, persist_result=False, **DB_RETRIES)
def record_batch(jobs: list[Job], outcomes: list[Outcome], flow_run_id: str | None) -> dict[str, int]:
    """Store each attempt and move each notification to delivered, retrying or dead."""
    with session_scope() as session:
        return record_outcomes(session, {job.notification_id: job for job in jobs}, outcomes, flow_run_id)
