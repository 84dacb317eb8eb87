"""deliver-notifications: drain the outbox. Started right after an event and every minute as a safety net.

Each batch claims due notifications (no other run can hold them), sends them at most NOTIFY_CONCURRENCY at a
time, and records every attempt. A row whose run died mid-batch is claimed again once its lease expires.

The three steps keep their results for the flow run (persisted, keyed by inputs and flow run id): retrying a
failed run replays the batches it claimed and sent from those results, so what went out is not sent twice and
only the step that failed runs again.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from prefect import flow

from flows._identity import run_identity
from tasks import run_logger
from tasks.notify.tasks import claim_batch, record_batch, send_batch


@flow(name="deliver-notifications", persist_result=True, result_serializer="json")
def deliver_notifications(batch_size: int | None = None, max_seconds: float = 50.0) -> dict[str, Any]:
    """Claim, send and record batches until the outbox has nothing due or ``max_seconds`` pass."""
    from core.settings import settings

    run_id, _ = run_identity()
    size = batch_size or settings.NOTIFY_BATCH_SIZE
    totals: Counter[str] = Counter()
    deadline = time.monotonic() + max_seconds
    batch = 0
    while time.monotonic() < deadline:
        jobs = claim_batch(size, batch)
        batch += 1
        if not jobs:
            break
        outcomes = send_batch(jobs)
        totals.update(record_batch(jobs, outcomes, run_id))
        totals["claimed"] += len(jobs)
    summary = {
        "claimed": totals["claimed"],
        "delivered": totals["delivered"],
        "retry": totals["retry"],
        "dead": totals["dead"],
    }
    run_logger().info(
        "notificações: %(claimed)d reivindicadas, %(delivered)d entregues, %(retry)d para nova "
        "tentativa, %(dead)d na fila de mortas",
        summary,
    )
    return summary
