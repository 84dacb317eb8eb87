"""Abuse limits of the API: request bodies over MAX_REQUEST_BYTES (413) and, per API key, requests over the rate of
their class of route — reads (GET/HEAD), writes (the other methods) and flow runs started — each a token bucket of
X_RATE_PER_MINUTE with a burst of X_RATE_BURST (429 with Retry-After).

The body limit is an ASGI middleware: it refuses a declared Content-Length at once and counts the bytes of a body
sent without one (chunked), so no handler ever reads more than the limit. The buckets are rows of the app database
(models/crud/key_limits.py), taken by one atomic upsert: every API process of a deployment shares them.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass

from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging import accept_request_id, new_trace_id
from core.settings import settings
from models.crud.key_limits import take_token
from models.db import session_scope


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
        # outside the trace middleware: a trace id of the server's and the caller's own id, as that middleware does
        trace_id = new_trace_id()
        request_id = accept_request_id((headers.get(b"x-request-id") or b"").decode("latin-1") or None) or trace_id
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(send, limit, trace_id, setting, request_id)
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
                await self._refuse(send, limit, trace_id, setting, request_id)
            return None

        await self.app(scope, counted_receive, guarded_send)
        return None

    @staticmethod
    async def _refuse(
        send: Send, limit: int, trace_id: str, setting: str = "MAX_REQUEST_BYTES", request_id: str | None = None
    ) -> None:
        body = _too_large_body(limit, trace_id, setting)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", (request_id or trace_id).encode()),
                    (b"x-trace-id", trace_id.encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RouteClass:
    name: str  # the bucket's route_class
    noun: str  # what the message counts, in Portuguese
    setting: str  # X in X_RATE_PER_MINUTE / X_RATE_BURST

    @property
    def per_minute(self) -> float:
        return float(getattr(settings, f"{self.setting}_RATE_PER_MINUTE"))

    @property
    def burst(self) -> int:
        return int(getattr(settings, f"{self.setting}_RATE_BURST"))


READ = RouteClass("read", "leituras", "READ")
WRITE = RouteClass("write", "escritas", "WRITE")
RUN = RouteClass("run", "execuções", "RUN")


def request_class(method: str) -> RouteClass:
    return READ if method.upper() in READ_METHODS else WRITE


def check_rate(key_id: uuid.UUID, route: RouteClass) -> None:
    """Raise 429 with Retry-After when the key has spent its share of ``route``'s requests (blocking: call it from a
    worker thread)."""
    burst = route.burst
    if burst == 0:
        if route is RUN:
            message = "Esta instância da API não inicia execuções (RUN_RATE_BURST=0); use a instância de operação."
        else:
            message = f"Esta instância da API não atende {route.noun} ({route.setting}_RATE_BURST=0)."
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, message, headers={"Retry-After": "3600"})
    with session_scope() as session:
        wait = take_token(session, key_id, route.name, route.per_minute / 60, burst, time.time())
    if wait:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Limite de {route.per_minute:g} {route.noun} por minuto por chave (rajada de {burst}) atingido; "
            f"tente de novo em {seconds} s.",
            headers={"Retry-After": str(seconds)},
        )


def check_run_rate(key_id: uuid.UUID) -> None:
    """Raise 429 with Retry-After when the key has started its share of flow runs."""
    check_rate(key_id, RUN)
