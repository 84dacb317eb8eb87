"""Polling helpers for tests that wait on another process (a flow run, a webhook, a worker)."""

from __future__ import annotations

import time


def wait_for(check, timeout: float = 45.0, every: float = 0.25):
    """``check()``'s first truthy value, polling every ``every`` seconds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        time.sleep(every)
