"""The price model the API answers with: the registry's `champion`, swapped in without a restart.

A background thread asks the registry every PRICE_MODEL_REFRESH_SECONDS which version holds `champion`; a new one
is loaded by version, warmed up with one prediction, and only then swapped in (one reference assignment under a
lock). If loading or the warm-up fails, the version in use stays and the error is shown by /api/v1/health. When no
version holds `champion` any more (withdrawn in the registry), the model is dropped and estimates carry the IN 65
mapa de preços alone.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from core.settings import settings

if TYPE_CHECKING:
    from tasks.prices.registry import Served

log = logging.getLogger("nexora.api.price_model")
WARM_UP = [
    {
        "descricao": "PAPEL A4 75 G/M2",
        "unidade": "RESMA",
        "quantidade": 10,
        "uf": "DF",
        "data": date(2024, 1, 2).isoformat(),
    }
]


class Champion:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.served: Served | None = None
        self.loaded_at: datetime | None = None
        self.checked_at: datetime | None = None
        self.error: str | None = None
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.uri: str | None = None  # the registry this process serves from, fixed when it starts

    def current(self) -> Served | None:
        with self.lock:
            return self.served

    def refresh(self) -> bool:
        """Load the registry's champion if it is not the one in use (or drop the one in use when no version holds
        the alias any more); True when what answers changed."""
        from tasks.prices.registry import CHAMPION, Registry, tracking_uri
        from tasks.prices.reliability import profile
        from tasks.prices.serving import rows_frame

        self.checked_at = datetime.now(UTC)
        try:
            self.uri = self.uri or tracking_uri()
            registry = Registry(self.uri)
            wanted = registry.alias(CHAMPION)
            in_use = self.current()
            if wanted is None and in_use is not None:  # the alias was withdrawn: stop answering with that model
                with self.lock:
                    self.served, self.loaded_at = None, None
                self.error = None
                log.warning("modelo de preços: alias champion removido; estimativas só pela pesquisa IN 65")
                return True
            if wanted is None or (in_use is not None and in_use.version == str(wanted.version)):
                self.error = None
                return False
            served = registry.load(str(wanted.version))
            rows, _ = rows_frame(WARM_UP)
            served.model.predict(rows, served.history)  # warm-up: a version that cannot predict is not swapped in
            profile(served.history)  # what its data covers, for the reliability of its answers (built once)
        except Exception as exc:  # noqa: BLE001 - keep serving the version in use, say why
            self.error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("modelo de preços: versão não carregada (%s); mantida a versão em uso", self.error)
            return False
        with self.lock:
            self.served = served
            self.loaded_at = datetime.now(UTC)
        self.error = None
        log.info("modelo de preços: versão %s em uso", served.version)
        return True

    def status(self) -> dict[str, Any]:
        served = self.current()
        return {
            "name": "preco-referencia",
            "version": served.version if served else None,
            "loaded_at": self.loaded_at.isoformat() if self.loaded_at else None,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "error": self.error,
        }

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            self.refresh()
            if settings.PRICE_MODEL_REFRESH_SECONDS <= 0:
                return
            self.stop_event.wait(settings.PRICE_MODEL_REFRESH_SECONDS)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="price-model-refresh", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread:
            self.thread.join(timeout=5)
