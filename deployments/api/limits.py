"""Abuse limits of the API: request bodies over MAX_REQUEST_BYTES (413) and, per API key, flow runs started over
RUN_RATE_PER_MINUTE with a burst of RUN_RATE_BURST (429 with Retry-After).

The body limit is an ASGI middleware: it refuses a declared Content-Length at once and counts the bytes of a body
sent without one (chunked), so no handler ever reads more than the limit. The run limit is a token bucket per key
in this API process (each process of a multi-process deployment keeps its own: the effective limit is per process).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging import accept_trace_id
from core.settings import settings


def _too_large_body(limit: int, trace_id: str, setting: str = "MAX_REQUEST_BYTES") -> bytes:
    return json.dumps(
        {"detail": f"Corpo do pedido maior que o limite de {limit} bytes ({setting}).", "trace_id": trace_id},
        ensure_ascii=False,
    ).encode()


def uploads_evidence(path: str) -> bool:
    """The route that receives a price research's evidence file (…/price-research/items/{n}/prices)."""
    parts = path.rstrip("/").split("/")
    return len(parts) >= 4 and parts[-1] == "prices" and parts[-3] == "items" and parts[-4] == "price-research"


class BodySizeLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        upload = uploads_evidence(scope.get("path", ""))
        limit = self.limit or (settings.MAX_UPLOAD_BYTES if upload else settings.MAX_REQUEST_BYTES)
        setting = "MAX_UPLOAD_BYTES" if upload and not self.limit else "MAX_REQUEST_BYTES"
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        # outside the trace middleware: the trace id the caller sent, or a new one, as that middleware would
        trace_id = accept_trace_id((headers.get(b"x-request-id") or b"").decode("latin-1") or None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(send, limit, trace_id, setting)
        seen = 0
        over = False

        async def counted_receive() -> Message:
            # past the limit the app gets an empty end of body (FastAPI would turn an exception here into a 400)
            # and its answer is replaced by the 413 below
            nonlocal seen, over
            if over:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        refused = False

        async def guarded_send(message: Message) -> None:
            nonlocal refused
            if not over:
                return await send(message)
            if not refused:
                refused = True
                await self._refuse(send, limit, trace_id, setting)
            return None

        await self.app(scope, counted_receive, guarded_send)
        return None

    @staticmethod
    async def _refuse(send: Send, limit: int, trace_id: str, setting: str = "MAX_REQUEST_BYTES") -> None:
        body = _too_large_body(limit, trace_id, setting)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", trace_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


@dataclass
class TokenBucket:
    rate_per_second: float
    burst: int
    tokens: dict[str, float] = field(default_factory=dict)
    stamps: dict[str, float] = field(default_factory=dict)

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token for ``key``: 0 when granted, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        last = self.stamps.get(key, now)
        tokens = min(self.burst, self.tokens.get(key, self.burst) + (now - last) * self.rate_per_second)
        self.stamps[key] = now
        if tokens >= 1:
            self.tokens[key] = tokens - 1
            return 0.0
        self.tokens[key] = tokens
        return (1 - tokens) / self.rate_per_second


_buckets: dict[tuple[float, int], TokenBucket] = {}


def run_bucket() -> TokenBucket:
    """The bucket of the current settings (a changed setting, as in tests, gets a fresh one)."""
    shape = (settings.RUN_RATE_PER_MINUTE / 60, settings.RUN_RATE_BURST)
    if shape not in _buckets:
        _buckets[shape] = TokenBucket(*shape)
    return _buckets[shape]


def check_run_rate(key_id: str) -> None:
    """Raise 429 with Retry-After when ``key_id`` has started its share of flow runs."""
    if settings.RUN_RATE_BURST == 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "Esta instância da API não inicia execuções (RUN_RATE_BURST=0); use a instância de operação.",
            headers={"Retry-After": "3600"},
        )
    wait = run_bucket().take(key_id)
    if wait:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Limite de {settings.RUN_RATE_PER_MINUTE} execuções por minuto por chave (rajada de "
            f"{settings.RUN_RATE_BURST}) atingido; tente de novo em {seconds} s.",
            headers={"Retry-After": str(seconds)},
        )
