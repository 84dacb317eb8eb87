"""Notification delivery: drain 10,000 webhook notifications to a loopback receiver that answers in 50 ms.

Ours: the deliver-notifications flow (a Prefect flow run on a local Prefect server) claiming batches from the
outbox, sending at most NOTIFY_CONCURRENCY (default 32) at a time, recording every attempt. The receiver runs in
its own process, checks each HMAC signature and counts what arrives: zero lost and zero duplicates are required.
Anchor, same run: the same signed deliveries sent one by one in a plain loop (httpx, keep-alive), on the first
N_ANCHOR notifications (10,000 would take over 8 minutes at 50 ms each); the ratio compares rates.
Target: at least 10x the plain loop. Database: BENCH_DATABASE_URL (default SQLite). Prints one JSON line.
"""

from __future__ import annotations

import os
import sys
import time

import _harness as h
import httpx

N = int(os.environ.get("BENCH_N", "10000"))
N_ANCHOR = int(os.environ.get("BENCH_N_ANCHOR", "500"))
DELAY = float(os.environ.get("BENCH_DELAY", "0.05"))


def main() -> None:
    os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    procs = h.Processes()
    try:
        h.prepare_database()
        procs.prefect_server()
        from sqlalchemy import func, update
        from sqlmodel import select

        from core import crypto
        from core.settings import settings
        from flows.deliver_notifications import deliver_notifications
        from models.crud import notifications as outbox
        from models.db import session_scope
        from models.notification import Channel, Notification, SubscriptionCreate
        from tasks.notify import messages

        port = h.free_port()
        with session_scope() as session:
            subscription, secret = outbox.create_subscription(
                session,
                SubscriptionCreate(
                    channel=Channel.WEBHOOK, target=f"http://127.0.0.1:{port}/bench", event_types=["document.approved"]
                ),
            )
        procs.start("receiver", [sys.executable, "-m", "tests.servers.webhook", str(port), str(DELAY), secret])
        h.wait_http(f"http://127.0.0.1:{port}/_stats")

        started = time.perf_counter()
        with session_scope() as session:
            for n in range(N):
                outbox.record_event(
                    session,
                    "document.approved",
                    orgao="Órgão de referência",
                    data={"numero_processo": f"23000.{n:06d}/2026-00", "kind": "ETP"},
                )
        enqueue_s = time.perf_counter() - started

        # anchor: the first N_ANCHOR jobs, one by one, signed the same way
        with session_scope() as session:
            jobs = outbox.claim(session, N_ANCHOR)
        plain_url = f"http://127.0.0.1:{port}/plain"
        started = time.perf_counter()
        with httpx.Client(timeout=10) as client:
            for job in jobs:
                body = messages.webhook_body(job)
                headers = messages.webhook_headers(job, crypto.unseal(job.secret_sealed), body, str(int(time.time())))
                client.post(plain_url, content=body, headers=headers).raise_for_status()
        anchor_rate = len(jobs) / (time.perf_counter() - started)
        with session_scope() as session:  # give the anchor's rows back to the outbox, untouched
            session.exec(
                update(Notification)
                .where(Notification.claim_token.is_not(None))
                .values(status="pending", claim_token=None, claimed_until=None)
            )

        started = time.perf_counter()
        summary = deliver_notifications(max_seconds=1800)
        ours_s = time.perf_counter() - started
        stats = httpx.get(f"http://127.0.0.1:{port}/_stats?path=/bench").json()
        received, unique = stats["received"], stats["unique"]
        with session_scope() as session:
            left = {
                str(status): count
                for status, count in session.exec(
                    select(Notification.status, func.count())
                    .where(Notification.status != "delivered")
                    .group_by(Notification.status)
                ).all()
            }
            errors = session.exec(
                select(Notification.last_error, func.count())
                .where(Notification.status != "delivered")
                .group_by(Notification.last_error)
                .limit(5)
            ).all()
        print(f"not delivered: {left}; errors: {errors}", file=sys.stderr)
        ours_rate = N / ours_s
        h.emit(
            {
                "bench": "notification_delivery",
                "unit": "deliveries/s",
                "ours": round(ours_rate, 1),
                "anchor_name": "plain loop, one signed POST at a time (httpx keep-alive)",
                "anchor": round(anchor_rate, 1),
                "ratio": round(ours_rate / anchor_rate, 1),
                "n": N,
                "n_anchor": len(jobs),
                "receiver_delay_ms": DELAY * 1000,
                "seconds": round(ours_s, 1),
                "delivered": summary["delivered"],
                "received": received,
                "unique": unique,
                "lost": N - unique,
                "duplicates": received - unique,
                "bad_signatures": stats["bad_signatures"],
                "concurrency": settings.NOTIFY_CONCURRENCY,
                "batch_size": settings.NOTIFY_BATCH_SIZE,
                "enqueue_s": round(enqueue_s, 1),
                "database": settings.database_url.split(":", 1)[0],
            }
        )
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
