"""The API served by uvicorn on a free loopback port: in a thread of the test process, or in a process of its own
(its own settings, and a process a test can kill)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from tests.utils.ports import free_port


@contextmanager
def api_in_thread() -> Iterator[str]:
    """Yield the base URL of the API once /health answers; stop it on exit."""
    from tests.conftest import wait_http

    port = free_port()
    server = uvicorn.Server(uvicorn.Config("deployments.api.app:app", host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v1/health", 30)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def api_process(log: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (base URL, process) of the API in its own process, with ``env`` over the test environment, once
    /health answers; stop it on exit (unless a test killed it already)."""
    from tests.conftest import ROOT, stop, wait_http

    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "deployments.api.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/api/v1/health", 60, process)
            yield f"http://127.0.0.1:{port}", process
        finally:
            stop(process)
