"""`nexora up` brings the embedded stack up on the configured ports and stops it cleanly on Ctrl-C."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from deployments.catalog import DEPLOYMENTS
from tests.conftest import ROOT, wait_http
from tests.utils.ports import free_port


def test_up_serves_ui_api_and_deployments_then_stops_on_sigint(tmp_path: Path):
    prefect_port, api_port = free_port(), free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path}/up.db",
           "PREFECT_PORT": str(prefect_port), "API_PORT": str(api_port)}
    for key in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_LOCAL_STORAGE_PATH"):
        env.pop(key, None)
    process = subprocess.Popen([str(Path(sys.executable).parent / "nexora"), "up"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{api_port}/api/v1/health", 150)
        health = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/health").json()
        assert health["prefect"] == "ok" and health["database"] == "ok"
        ui = httpx.get(f"http://127.0.0.1:{prefect_port}/")
        assert ui.status_code == 200 and "<html" in ui.text.lower()
        names = [d["name"] for d in httpx.post(f"http://127.0.0.1:{prefect_port}/api/deployments/filter",
                                                json={}).json()]
        assert names.count("nexora") == len(DEPLOYMENTS)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert "parando" in output
    time.sleep(0.5)
    for port in (prefect_port, api_port):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            raise AssertionError(f"port {port} still served after stop")
        except httpx.TransportError:
            pass
