"""A flow's step: run a task, and when it does not complete raise the flow's own error with the task's reason (the
state's message, or the task's exception), so the run's failed state says which step failed and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_step(task, *args: Any, failed: Callable[[str], Exception], typed: bool = True) -> Any:
    """The task's result; else ``failed(reason)`` is raised, the reason naming the exception's type when ``typed``."""
    state = task(*args, return_state=True)
    if state.is_completed():
        return state.result()
    reason = state.message or state.name
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the task's own error is the clearest reason
        reason = f"{type(exc).__name__}: {exc}" if typed else str(exc)
    raise failed(reason)
