"""SIGKILL in the middle of a write: the API during a document update and a status change, a flow during the
registration of a consolidation, the storage of a collection page and the claim of notifications.

The write is caught mid-transaction from outside: a PostgreSQL trigger makes one of the transaction's later
statements wait (pg_sleep) after the earlier ones ran; when the server shows the backend waiting, the process is
killed with SIGKILL. Then the database must hold the state from before (nothing half-written), and the next
request or run must complete with nothing lost or doubled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

from core.settings import settings
from models.artifact import Artifact
from models.crud import notifications as outbox
from models.db import session_scope
from models.document import AuditLog, Document, DocumentField
from models.enums import DocumentStatus
from models.market import PncpCheckpoint
from models.notification import DeliveryAttempt, DeliveryStatus, Event
from tests.conftest import ROOT, TMP
from tests.utils.api_thread import api_process as running_api
from tests.utils.builders import PLANNER, actor, approve_document, make_document, make_key
from tests.utils.ports import free_port

pytestmark = pytest.mark.usefixtures("prefect_server")


@contextmanager
def stalled(url: str, table: str, operation: str) -> Iterator[None]:
    """Every `operation` on `table` waits two minutes inside its transaction, until the block ends."""
    name = f"stall_{table}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(120); RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
        )
    try:
        yield
    finally:
        with engine.connect() as conn:
            # the killed client's backend still sleeps inside its transaction (the server notices a dead client
            # only when it next talks to it): end it, which rolls the transaction back, then drop the trigger
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
                )
            )
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            conn.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
        engine.dispose()


def wait_until_stalled(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                if conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event = 'PgSleep'"
                    )
                ).scalar_one():
                    return
            assert process.poll() is None, f"the process ended before reaching the write (rc {process.returncode})"
            assert time.monotonic() < deadline, "the write never reached the stalled statement"
            time.sleep(0.1)
    finally:
        engine.dispose()


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def flow_process(url: str, code: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        start_new_session=True,
        env={**os.environ, "DATABASE_URL": url, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def api_process(url: str):
    """The API in a process of its own on ``url``, which the test may kill."""
    return running_api(TMP / f"crash-api-{uuid.uuid4().hex[:6]}.log", DATABASE_URL=url)


def in_background(call) -> threading.Thread:
    """Send a request that will never be answered (its server gets killed) without blocking the test."""

    def send():
        with suppress(httpx.HTTPError):
            call()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def document_state(url: str, document_id: uuid.UUID) -> dict:
    with session_scope(url) as s:
        doc = s.get(Document, document_id)
        return {
            "status": doc.status,
            "version": doc.version,
            "updated_at": doc.updated_at,
            "fields": sorted(
                (f.slug, f.content, f.justification)
                for f in s.exec(select(DocumentField).where(DocumentField.document_id == document_id))
            ),
            "audit": len(s.exec(select(AuditLog).where(AuditLog.document_id == document_id)).all()),
            "events": sorted(e.type for e in s.exec(select(Event).where(Event.document_id == document_id))),
            "artifacts": len(s.exec(select(Artifact).where(Artifact.document_id == document_id)).all()),
        }


def test_the_api_killed_mid_update_and_mid_transition_leaves_the_document_whole(pg_url):
    document_id = make_document(pg_url)
    key = make_key(pg_url, ["read", "write"], name="crash")
    auth = {"Authorization": f"Bearer {key}", **actor(PLANNER)}
    field_url = f"/api/v1/documents/{document_id}/fields/descricao_necessidade"
    before = document_state(pg_url, document_id)

    # a field update: the document row is locked and updated, the field row's update waits; the API dies
    with api_process(pg_url) as (url, process), stalled(pg_url, "document_fields", "UPDATE"):
        in_background(lambda: httpx.put(url + field_url, json={"content": "Texto novo."}, headers=auth, timeout=60))
        wait_until_stalled(pg_url, process)
        kill(process)
    assert document_state(pg_url, document_id) == before

    # the same update on a new API process; then a status change (document, audit row, outbox event) killed
    # while its event is being written
    with api_process(pg_url) as (url, process):
        assert httpx.put(url + field_url, json={"content": "Texto novo."}, headers=auth).status_code == 200
        updated = document_state(pg_url, document_id)
        assert ("descricao_necessidade", "Texto novo.", None) in updated["fields"]
        with stalled(pg_url, "events", "INSERT"):
            in_background(
                lambda: httpx.post(
                    f"{url}/api/v1/documents/{document_id}/transitions",
                    json={"to": "em_revisao"},
                    headers=auth,
                    timeout=60,
                )
            )
            wait_until_stalled(pg_url, process)
            kill(process)
    assert document_state(pg_url, document_id) == updated

    with api_process(pg_url) as (url, _):
        done = httpx.post(f"{url}/api/v1/documents/{document_id}/transitions", json={"to": "em_revisao"}, headers=auth)
        assert done.status_code == 200, done.text
    after = document_state(pg_url, document_id)
    assert after["status"] == DocumentStatus.EM_REVISAO and after["audit"] == updated["audit"] + 1
    assert after["events"] == sorted([*updated["events"], "document.submitted"])


def test_a_consolidation_killed_while_registering_completes_on_the_next_run(pg_url, monkeypatch):
    from flows.consolidate_document import consolidate_document

    document_id = make_document(pg_url)
    approve_document(pg_url, document_id)
    before = document_state(pg_url, document_id)
    code = (
        "import uuid; from flows.consolidate_document import consolidate_document; "
        f"consolidate_document(uuid.UUID('{document_id}'))"
    )
    with stalled(pg_url, "artifacts", "INSERT"):
        process = flow_process(pg_url, code)
        wait_until_stalled(pg_url, process)  # both files uploaded; the registry rows are being written
        kill(process)
    assert document_state(pg_url, document_id) == before  # aprovado, no artifact row, no event

    monkeypatch.setattr(settings, "DATABASE_URL", pg_url)
    monkeypatch.setattr(outbox, "_committed_listeners", [])
    result = consolidate_document(document_id)
    assert result["reused_objects"] == 2  # the dead run's uploads, found by their content-addressed keys
    after = document_state(pg_url, document_id)
    assert after["status"] == DocumentStatus.CONSOLIDADO and after["artifacts"] == 2
    assert after["events"].count("document.consolidated") == 1


def test_a_collection_killed_while_storing_a_page_resumes_without_loss_or_duplicates(pg_url, monkeypatch):
    from tests.integration.test_pncp_collection import FAST, _empty, collect, snapshot, uninterrupted_snapshot
    from tests.servers.pncp import PncpReplay

    server = PncpReplay(port=free_port()).start_server()
    monkeypatch.setattr(settings, "PNCP_BASE_URL", server.url)
    for name, value in FAST.items():
        monkeypatch.setattr(settings, name, value)
    _empty(pg_url)
    code = (
        "from datetime import date; from flows.collect_pncp import collect_pncp; "
        "collect_pncp(start=date(2026, 3, 2), end=date(2026, 3, 6), modalidades=[6, 8])"
    )
    try:
        with stalled(pg_url, "pncp_checkpoints", "UPDATE"):
            # the page's records are upserted; advancing its checkpoint waits, in the same transaction
            process = flow_process(pg_url, code, PNCP_BASE_URL=server.url, **{k: str(v) for k, v in FAST.items()})
            wait_until_stalled(pg_url, process)
            kill(process)
        with session_scope(pg_url) as s:
            assert all(c.last_page == 0 for c in s.exec(select(PncpCheckpoint)))
        assert not any(snapshot(pg_url).values())  # the page went with its checkpoint: not stored at all

        monkeypatch.setattr(settings, "DATABASE_URL", pg_url)
        collect()
        resumed = snapshot(pg_url)
        assert all(resumed.values())
        assert resumed == uninterrupted_snapshot()  # the same rows as a collection never killed
    finally:
        server.stop()
        _empty(pg_url)


def test_deliveries_killed_while_claiming_are_sent_once_by_the_next_run(pg_url, receiver, monkeypatch):
    from flows.deliver_notifications import deliver_notifications
    from tests.integration.test_notifications import hook, notifications

    monkeypatch.setattr(settings, "DATABASE_URL", pg_url)
    monkeypatch.setattr(outbox, "_committed_listeners", [])
    with session_scope(pg_url) as s:  # nothing else of this database is due: only this test's rows
        s.exec(text("UPDATE notifications SET status = 'dead' WHERE status IN ('pending', 'retrying', 'sending')"))
    target = hook(receiver, f"/crash-{uuid.uuid4().hex[:6]}")
    try:
        path = target.removeprefix(receiver.url)
        with session_scope(pg_url) as s:
            for n in range(5):
                outbox.record_event(s, "document.approved", data={"n": n})
        code = "from flows.deliver_notifications import deliver_notifications; deliver_notifications(max_seconds=30)"
        with stalled(pg_url, "notifications", "UPDATE"):
            process = flow_process(pg_url, code)
            wait_until_stalled(pg_url, process)  # the claim's UPDATE is running
            kill(process)
        rows = notifications(pg_url, target)
        assert len(rows) == 5 and all(r.status == DeliveryStatus.PENDING and r.attempts == 0 for r in rows)
        assert receiver.events(path) == []

        deliver_notifications(max_seconds=20)
        rows = notifications(pg_url, target)
        assert all(r.status == DeliveryStatus.DELIVERED and r.attempts == 1 for r in rows)
        assert len(receiver.events(path)) == 5 and len(receiver.unique_events(path)) == 5
        with session_scope(pg_url) as s:
            sent = s.exec(select(DeliveryAttempt).where(DeliveryAttempt.notification_id.in_([r.id for r in rows])))
            assert len(sent.all()) == 5
    finally:  # no later test's events fan out to this receiver
        with session_scope(pg_url) as s:
            s.exec(text("UPDATE subscriptions SET active = false WHERE target = :target").bindparams(target=target))
