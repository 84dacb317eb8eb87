"""Which failures are worth another attempt: one factory of Prefect retry conditions, and the database policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.errors import DomainError

Exceptions = type[Exception] | tuple[type[Exception], ...]
RetryCondition = Callable[[Any, Any, Any], bool]  # Prefect's retry_condition_fn: (task, task_run, state) -> bool


def retry_on(
    *retryable: type[Exception], unless: Exceptions = (), when: Callable[[Exception], bool] | None = None
) -> RetryCondition:
    """A ``retry_condition_fn`` that retries a task failed by one of ``retryable`` (and, given ``when``, only if
    ``when(exc)`` holds); never one failed by one of ``unless``, nor by any other exception."""

    def condition(task, task_run, state) -> bool:
        try:
            state.result()
        except Exception as exc:  # noqa: BLE001 - the state carries the task's exception
            if isinstance(exc, unless) or not isinstance(exc, retryable):
                return False
            return when(exc) if when is not None else True
        return False

    condition.__name__ = condition.__qualname__ = f"retry_on({', '.join(t.__name__ for t in retryable)})"
    return condition


def declared_retryable(exc: Exception) -> bool:
    """An error that says whether asking again may help (``exc.retryable``) is taken at its word; others: yes."""
    return getattr(exc, "retryable", True)


# database faults that may pass (connection, lock, serialization) are retried; a domain refusal (not found,
# conflict, invalid) is final
DB_RETRIES = {
    "retries": 2,
    "retry_delay_seconds": [1, 5],
    "retry_condition_fn": retry_on(Exception, unless=DomainError),
}
