"""The schedules make runs: a real Prefect server's scheduler, given the catalog, creates the scheduled flow runs at
the local times the catalog says (America/Sao_Paulo), on SQLite and on PostgreSQL, and logs no scheduling error.

Deployed the two ways the project deploys: the `serve` runner's deployments (SQLite server) and prefect.yaml through
`prefect deploy --all` (PostgreSQL server). Nothing executes the runs here: no runner or worker polls these servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from core.settings import settings
from deployments.catalog import (
    COLLECT_PNCP,
    COLLECT_PNCP_DOCUMENTS,
    DELIVER_NOTIFICATIONS,
    INTERVAL_ANCHOR,
    TRAIN_PRICE_MODEL,
)
from deployments.operations.stack import Stack, ensure_postgres_database
from tests.conftest import PG_ADMIN_URL, ROOT, TMP, stop, wait_http
from tests.utils.ports import free_port
from tests.utils.waiting import wait_for

pytestmark = pytest.mark.integration
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
SCHEDULED = (COLLECT_PNCP, COLLECT_PNCP_DOCUMENTS, TRAIN_PRICE_MODEL, DELIVER_NOTIFICATIONS)


@pytest.fixture(params=["sqlite", "postgresql"])
def scheduler(request, monkeypatch):
    """A Prefect server of its own whose scheduler looks every second, with the catalog deployed on it."""
    port, kind = free_port(), request.param
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(TMP / f"scheduler-{kind}"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "NEXORA_HOME": str(ROOT),
        "SCHEDULES_PAUSED": "",
    }
    database = None
    if kind == "postgresql":
        database = PG_ADMIN_URL.rsplit("/", 1)[0].replace("+psycopg", "+asyncpg") + f"/nexora_sched_{os.getpid()}"
        ensure_postgres_database(database)
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database
    log_path = TMP / f"scheduler-{kind}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [
                str(os.path.dirname(sys.executable) + "/prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http(f"{api}/health", 120, server)
            deployed_at = datetime.now(UTC)
            if kind == "sqlite":
                monkeypatch.setattr(settings, "SCHEDULES_PAUSED", "")  # the session's runner pauses them all
                _apply_served_deployments(api)
            else:
                Stack(settings, extra_env=env).deploy()
            yield api, deployed_at, log_path, env
        finally:
            stop(server)
            if database:
                _drop(database)


def _apply_served_deployments(api: str) -> None:
    """What `nexora runner` registers: every catalog deployment as `serve` builds it (runner.to_deployment), active."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.catalog import DEPLOYMENTS
    from deployments.runner import to_deployment

    with temporary_settings(updates={PREFECT_API_URL: api}):
        for spec in DEPLOYMENTS:
            to_deployment(spec).apply()


def _drop(async_url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{async_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def _scheduled_runs(api: str, flow_name: str) -> list[datetime]:
    answer = httpx.post(
        f"{api}/flow_runs/filter",
        json={
            "flows": {"name": {"any_": [flow_name]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC",
            "limit": 10,
        },
        timeout=10,
    )
    answer.raise_for_status()
    return [datetime.fromisoformat(run["expected_start_time"]).astimezone(SAO_PAULO) for run in answer.json()]


def test_every_scheduled_deployment_gets_runs_at_its_local_times(scheduler):
    api, deployed_at, log_path, env = scheduler

    # when the scheduler has run over the deployments
    def three_runs_each() -> dict[str, list[datetime]] | None:
        log = log_path.read_text(encoding="utf-8", errors="replace")
        assert "Error scheduling" not in log, log[-3000:]
        found = {spec.flow_name: _scheduled_runs(api, spec.flow_name) for spec in SCHEDULED}
        return found if all(len(times) >= 3 for times in found.values()) else None

    runs = wait_for(three_runs_each, timeout=60, every=0.5)
    start = deployed_at.astimezone(SAO_PAULO) - timedelta(seconds=5)
    # then the daily collection runs at 03:00 in São Paulo, one day apart, from the next 03:00 on
    collect = runs["collect-pncp"][:3]
    assert all((t.hour, t.minute, t.second) == (3, 0, 0) for t in collect), collect
    assert start < collect[0] <= start + timedelta(days=1)
    assert [b - a for a, b in zip(collect, collect[1:], strict=False)] == [timedelta(days=1)] * 2
    # the PNCP library after it, at 05:00, daily
    library = runs["collect-pncp-documents"][:3]
    assert all((t.hour, t.minute, t.second) == (5, 0, 0) for t in library), library
    assert [b - a for a, b in zip(library, library[1:], strict=False)] == [timedelta(days=1)] * 2
    # and the weekly training on Mondays at 04:00, a week apart
    train = runs["train-price-model"][:3]
    assert all((t.weekday(), t.hour, t.minute, t.second) == (0, 4, 0, 0) for t in train), train
    assert start < train[0] <= start + timedelta(days=7)
    assert [b - a for a, b in zip(train, train[1:], strict=False)] == [timedelta(days=7)] * 2
    # and the delivery every minute, on the minute of its anchor
    deliver = runs["deliver-notifications"][:3]
    assert all((t - INTERVAL_ANCHOR).total_seconds() % 60 == 0 for t in deliver), deliver
    assert [b - a for a, b in zip(deliver, deliver[1:], strict=False)] == [timedelta(minutes=1)] * 2
    # and the server logged no scheduling error
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "Error scheduling" not in log and "Traceback" not in log, log[-3000:]
    # and `nexora deployments status` shows each one's next run, with no problem
    shown = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "deployments", "status", "--json"],
        cwd=ROOT,
        env={**env, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    status = {row["deployment"]: row for row in json.loads(shown.stdout)}
    for spec in SCHEDULED:
        expected = runs[spec.flow_name][0]
        assert datetime.fromisoformat(status[spec.flow_name]["proxima_execucao"]) == expected
        assert status[spec.flow_name]["problema"] is None
    assert status["generate-field"]["agendamentos"] == [] and status["generate-field"]["proxima_execucao"] is None
