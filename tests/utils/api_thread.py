"""The API served by uvicorn in a thread of the test process, on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from tests.utils.ports import free_port


@contextmanager
def api_in_thread() -> Iterator[str]:
    """Yield the base URL of the API once /health answers; stop it on exit."""
    from tests.conftest import wait_http

    port = free_port()
    server = uvicorn.Server(uvicorn.Config("deployments.api.app:app", host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v1/health", 30)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
