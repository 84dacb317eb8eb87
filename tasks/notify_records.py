"""Database tasks of deliver-notifications: claim a batch, record its outcomes (retried on database errors).

Both keep their results for the flow run (Prefect's default cache policy: inputs, task source, flow run id): a
retried run gets the batches its first attempt claimed and recorded back instead of claiming or recording again.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import DEFAULT

from models.crud.notifications import Job, Outcome, claim, record_outcomes
from models.db import session_scope
from tasks.retry import DB_RETRIES


@task(name="claim-notifications", cache_policy=DEFAULT, **DB_RETRIES)
def claim_batch(limit: int, batch: int) -> list[Job]:
    """Claim up to ``limit`` due notifications for this run (``batch``: its number in the run, part of the key)."""
    with session_scope() as session:
        return claim(session, limit)


@task(name="record-deliveries", cache_policy=DEFAULT, **DB_RETRIES)
def record_batch(jobs: list[Job], outcomes: list[Outcome], flow_run_id: str | None) -> dict[str, int]:
    """Store each attempt and move each notification to delivered, retrying or dead."""
    with session_scope() as session:
        return record_outcomes(session, {job.notification_id: job for job in jobs}, outcomes, flow_run_id)
