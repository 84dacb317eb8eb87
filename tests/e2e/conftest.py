"""The running platform for end-to-end tests: the `serve` runner (subprocess) and the API (uvicorn)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from deployments.catalog import DEPLOYMENTS
from tests.conftest import ROOT, TMP, stop
from tests.utils.builders import PLANNER, actor, make_key


@pytest.fixture(scope="session")
def runner(prefect_server, sqlite_url, llm_server, mlflow_server):
    log = open(TMP / "runner.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "deployments.runner"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    api = os.environ["PREFECT_API_URL"]
    try:
        while not all(httpx.get(f"{api}/deployments/name/{d.full_name}").status_code == 200 for d in DEPLOYMENTS):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"runner did not register deployments; see {TMP / 'runner.log'}")
            time.sleep(0.5)
        yield process
    finally:
        stop(process)
        log.close()


@pytest.fixture(scope="session")
def keys(sqlite_url):
    return {
        scope: make_key(sqlite_url, scopes, name=f"e2e-{scope}")
        for scope, scopes in {
            "all": ["read", "write", "run"],
            "read": ["read"],
            "write": ["read", "write"],
            "admin": ["admin"],
        }.items()
    }


@pytest.fixture
def client(api_url, keys):
    """The app's client, acting as a member of the planning team (X-Actor: tests/utils/builders.py PLANNER)."""
    headers = {"Authorization": f"Bearer {keys['all']}", **actor(PLANNER)}
    with httpx.Client(base_url=api_url, headers=headers, timeout=90) as c:
        yield c
