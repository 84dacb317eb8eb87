"""`nexora up` brings the embedded stack up on the configured ports and stops it cleanly on Ctrl-C."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.settings import Settings
from deployments.catalog import DEPLOYMENTS
from deployments.operations.stack import Stack
from tests.conftest import ROOT, wait_http
from tests.utils.builders import make_key
from tests.utils.ports import free_port
from tests.utils.waiting import wait_for


def scheduled(api: str) -> list[str]:
    found = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}})
    return [run["id"] for run in found.json()]


def test_up_serves_ui_api_and_deployments_then_stops_on_sigint(tmp_path: Path):
    prefect_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/up.db",
        "PREFECT_PORT": str(prefect_port),
        "API_PORT": str(api_port),
        "SCHEDULES_PAUSED": "",
    }
    for key in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_LOCAL_STORAGE_PATH"):
        env.pop(key, None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "nexora"), "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{api_port}/api/v1/health", 150)
        admin = {"Authorization": f"Bearer {make_key(env['DATABASE_URL'], ['admin'])}"}
        health = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/health", headers=admin).json()
        assert health["prefect"] == "ok" and health["database"] == "ok"
        ui = httpx.get(f"http://127.0.0.1:{prefect_port}/")
        assert ui.status_code == 200 and "<html" in ui.text.lower()
        names = [
            d["name"] for d in httpx.post(f"http://127.0.0.1:{prefect_port}/api/deployments/filter", json={}).json()
        ]
        assert names.count("nexora") == len(DEPLOYMENTS)
        # the schedules are active: the scheduler has queued the every-minute delivery runs
        api = f"http://127.0.0.1:{prefect_port}/api"
        wait_for(lambda: scheduled(api), timeout=90, every=1)
        # when the stack drains before stopping, then no scheduled run is left to start (and be cancelled by the stop)
        settings = Settings(PREFECT_PORT=prefect_port, API_PORT=api_port, DATA_DIR=tmp_path / "var")
        assert Stack(settings).drain(timeout=30) == []
        assert scheduled(api) == [] and all(
            d["paused"] for d in httpx.post(f"{api}/deployments/filter", json={}).json()
        )
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert "parando" in output
    # no run was left cancelled or crashed by the stop
    with sqlite3.connect(f"file:{tmp_path / 'var' / 'prefect' / 'prefect.db'}?mode=ro", uri=True) as db:
        ended = db.execute(
            "SELECT r.name, d.name, r.state_type, r.state_name, r.auto_scheduled, r.created, s.message "
            "FROM flow_run r LEFT JOIN deployment d ON d.id = r.deployment_id "
            "LEFT JOIN flow_run_state s ON s.id = r.state_id WHERE r.state_type IN ('CANCELLED', 'CRASHED')"
        ).fetchall()
    assert ended == [], (ended, output[-3000:])  # which run, made how, cancelled why: it failed once (pendencias)
    time.sleep(0.5)
    for port in (prefect_port, api_port):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            raise AssertionError(f"port {port} still served after stop")
        except httpx.TransportError:
            pass
