"""Tasks of the notifications outbox: claim a batch, send it, record its outcomes (deliver-notifications), and write
a failed run's `flow_run.failed` event (report-run-failure).

Claim, send and record keep their results for the flow run (Prefect's default cache policy: inputs, task source, flow
run id): a retried run gets the batches its first attempt claimed, sent and recorded back instead of doing it again.
The database tasks are retried on database errors.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import DEFAULT, NO_CACHE

from models.crud.notifications import Job, Outcome, claim, record_outcomes
from models.db import session_scope
from tasks.retry import DB_RETRIES

FAILED_RUN_EVENT = "flow_run.failed"


@task(name="claim-notifications", cache_policy=DEFAULT, **DB_RETRIES)
def claim_batch(limit: int, batch: int) -> list[Job]:
    """Claim up to ``limit`` due notifications for this run (``batch``: its number in the run, part of the key)."""
    with session_scope() as session:
        return claim(session, limit)


@task(name="send-batch", cache_policy=DEFAULT)
def send_batch(jobs: list) -> list:
    """Send the claimed notifications (webhooks and e-mails) concurrently; one outcome per job."""
    import asyncio

    from tasks.notify.delivery import send_all

    return asyncio.run(send_all(jobs))


@task(name="record-deliveries", cache_policy=DEFAULT, **DB_RETRIES)
def record_batch(jobs: list[Job], outcomes: list[Outcome], flow_run_id: str | None) -> dict[str, int]:
    """Store each attempt and move each notification to delivered, retrying or dead."""
    with session_scope() as session:
        return record_outcomes(session, {job.notification_id: job for job in jobs}, outcomes, flow_run_id)


@task(name="record-failure-event", cache_policy=NO_CACHE, **DB_RETRIES)
def record_failure_event(data: dict[str, Any]) -> str | None:
    """Record the event unless this run's failure in this state was already recorded (last 30 days)."""
    from sqlmodel import col, select

    from models.crud.notifications import record_event
    from models.db import utcnow
    from models.notification import Event

    with session_scope() as session:
        since = utcnow() - timedelta(days=30)
        seen = session.exec(
            select(Event.data).where(
                Event.type == FAILED_RUN_EVENT,
                col(Event.occurred_at) >= since,
                col(Event.data)["flow_run_id"].as_string() == data["flow_run_id"],
            )
        ).all()
        if any(found.get("state_key") == data["state_key"] for found in seen):
            return None
        event = record_event(
            session,
            FAILED_RUN_EVENT,
            data={k: v for k, v in data.items() if v is not None},
            trace_id=data.get("trace_id"),
        )
        return str(event.id)
