"""Caps on the requests that wait for a flow run's end (`wait=`) at once in this API process: WAIT_MAX_PER_KEY per
key and WAIT_MAX_TOTAL in all. Over a cap the request is refused with 429 and Retry-After before anything starts
(a run-starting route starts no run), so the client polls without `wait` or comes back; a waiter holds a coroutine
and a Prefect read every poll, and a key's waiters never crowd out the others'."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from fastapi import HTTPException, status

from core.settings import settings

RETRY_AFTER_SECONDS = 5


class Waiters:
    """The waiters of this process (one event loop: no lock needed between the check and the count)."""

    def __init__(self) -> None:
        self.per_key: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.per_key.values())

    @contextmanager
    def slot(self, key_id: str) -> Iterator[None]:
        if self.per_key[key_id] >= settings.WAIT_MAX_PER_KEY:
            raise _refused(
                f"Esta chave já tem {self.per_key[key_id]} pedido(s) esperando o fim de execuções "
                f"(WAIT_MAX_PER_KEY={settings.WAIT_MAX_PER_KEY})"
            )
        if self.total >= settings.WAIT_MAX_TOTAL:
            raise _refused(
                f"A API já tem {self.total} pedidos esperando o fim de execuções "
                f"(WAIT_MAX_TOTAL={settings.WAIT_MAX_TOTAL})"
            )
        self.per_key[key_id] += 1
        try:
            yield
        finally:
            self.per_key[key_id] -= 1
            if self.per_key[key_id] <= 0:
                del self.per_key[key_id]

    def maybe(self, key_id: str, wait: float) -> AbstractContextManager[None]:
        """A slot when the request waits (``wait`` > 0), else nothing."""
        return self.slot(key_id) if wait else nullcontext()


def _refused(why: str) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"{why}; consulte a execução sem `wait` (GET /api/v1/flow-runs/{{id}}) ou tente de novo em "
        f"{RETRY_AFTER_SECONDS} s.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


waiters = Waiters()
