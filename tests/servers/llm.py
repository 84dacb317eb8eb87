"""A small OpenAI-compatible server on loopback (POST /v1/chat/completions and /v1/embeddings), told per test how to
behave.

It speaks the real wire format (chat.completion objects, error envelopes) and can answer normally,
slowly, with a status code N times then normally, with a status code forever, with malformed JSON,
or hang past the client's timeout. It records every request it receives (with its path).

Its embeddings are deterministic: a hashed bag of the text's stems (models.textsearch.stems) in ``EMBEDDING_DIMS``
dimensions, normalised, so texts sharing words are near and the same text always gives the same vector.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EMBEDDING_DIMS = 64


@dataclass
class Behaviour:
    mode: str = "ok"  # ok | slow | status | fail_then_ok | malformed | hang | empty
    delay: float = 0.0
    status: int = 500
    times: int = 0
    retry_after: str | None = None
    only_if: str | None = None  # apply the behaviour only to prompts containing this text
    hang_seconds: float = 6.0
    content: str | None = None  # mode "ok": answer with this text instead of the default draft


@dataclass
class Recorder:
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeLLM:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.behaviour = Behaviour()
        self.recorder = Recorder()
        self._failures_left = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") not in ("/v1/chat/completions", "/v1/embeddings"):
                    return self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    return self._json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
                server._handle(self, body, self.path.rstrip("/"))
                return None

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None):
                data = json.dumps(payload).encode()
                self._raw(status, data, headers)

            def _raw(self, status: int, data: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLM:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def set(self, **kwargs) -> None:
        self.behaviour = Behaviour(**kwargs)
        self._failures_left = self.behaviour.times

    def reset(self) -> None:
        self.set()
        with self.recorder.lock:
            self.recorder.requests.clear()
            self.recorder.max_in_flight = 0

    @property
    def calls(self) -> int:
        return len(self.recorder.requests)

    def embedding_inputs(self) -> list[list[str]]:
        """The inputs of every /v1/embeddings request received, in order."""
        return [r["body"]["input"] for r in self.recorder.requests if r["path"] == "/v1/embeddings"]

    def _handle(self, handler, body: dict[str, Any], path: str = "/v1/chat/completions") -> None:
        rec = self.recorder
        with rec.lock:
            rec.requests.append({"body": body, "headers": dict(handler.headers), "at": time.time(), "path": path})
            rec.in_flight += 1
            rec.max_in_flight = max(rec.max_in_flight, rec.in_flight)
        try:
            if path == "/v1/embeddings":
                self._embeddings(handler, body)
            else:
                self._respond(handler, body)
        finally:
            with rec.lock:
                rec.in_flight -= 1

    def _embeddings(self, handler, body: dict[str, Any]) -> None:
        """The real wire format of POST /v1/embeddings (a list of "embedding" objects and the usage); the behaviours
        status, fail_then_ok, hang and malformed apply as to chat completions."""
        b = self.behaviour
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(inputs, list) or not inputs or not body.get("model"):
            return handler._json(
                400, {"error": {"message": "'input' and 'model' required", "type": "invalid_request_error"}}
            )
        if b.mode == "hang":
            time.sleep(b.hang_seconds)
            handler.close_connection = True
            return None
        if b.mode == "malformed":
            return handler._raw(200, b'{"object": "list", "data": [ {"embedding": ')
        fail = b.mode == "status"
        if b.mode == "fail_then_ok":
            with self.recorder.lock:
                fail = self._failures_left > 0
                self._failures_left -= 1 if fail else 0
        if fail:
            return handler._json(
                b.status, {"error": {"message": f"simulated {b.status}", "type": "server_error", "code": str(b.status)}}
            )
        tokens = sum(max(1, len(str(t)) // 4) for t in inputs)
        return handler._json(
            200,
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": hashed_embedding(str(t))}
                    for i, t in enumerate(inputs)
                ],
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _respond(self, handler, body: dict[str, Any]) -> None:
        b = self.behaviour
        prompt = "\n".join(m.get("content", "") for m in body.get("messages", []))
        applies = b.only_if is None or b.only_if in prompt
        mode = b.mode if applies else "ok"
        if mode == "slow":
            time.sleep(b.delay)
        elif mode == "hang":
            time.sleep(b.hang_seconds)
            handler.close_connection = True
            return None
        elif mode == "malformed":
            return handler._raw(200, b'{"id": "chatcmpl-x", "choices": [ {"message": ')
        elif mode == "empty":
            return handler._json(
                200,
                {
                    "id": "chatcmpl-x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model"),
                    "choices": [],
                },
            )
        elif mode in ("status", "fail_then_ok"):
            fail = mode == "status"
            if mode == "fail_then_ok":
                with self.recorder.lock:
                    fail = self._failures_left > 0
                    self._failures_left -= 1 if fail else 0
            if fail:
                headers = {"retry-after": b.retry_after} if b.retry_after else None
                return handler._json(
                    b.status,
                    {"error": {"message": f"simulated {b.status}", "type": "server_error", "code": str(b.status)}},
                    headers,
                )
        if b.delay and mode != "slow":
            time.sleep(b.delay)
        title = next((line for line in prompt.splitlines() if line.startswith("Redija a seção")), "seção")
        content = b.content if b.content is not None and applies else f"Texto redigido pelo modelo. {title}"
        prompt_tokens, completion_tokens = max(1, len(prompt) // 4), max(1, len(content) // 4)
        handler._json(
            200,
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake-model"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )
        return None


def _bucket(stem: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(stem.encode()).digest()[:4], "big") % EMBEDDING_DIMS


def hashed_embedding(text: str) -> list[float]:
    """A hashed bag of the text's stems, normalised (all zeros but one for a text without words)."""
    import math

    from models.textsearch import stems

    vector = [0.0] * EMBEDDING_DIMS
    for stem in stems(text).split():
        vector[_bucket(stem)] += 1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if not norm:
        vector[0] = norm = 1.0
    return [x / norm for x in vector]


def words_apart(n: int, beside: str = "") -> list[str]:
    """``n`` fresh words (letters then digits: no stemmer changes them) that share no bucket of the hashed embedding
    with each other nor with any word of ``beside``: an order a test expects from these vectors never rests on a hash
    collision (with 64 buckets, the library test's random words turned its semantic order over in 1.3 % of 4,000
    simulated draws, by the vectors alone; it failed once in a full run)."""
    import random

    from models.textsearch import stems

    taken = {_bucket(stem) for stem in stems(beside).split()}
    found: list[str] = []
    while len(found) < n:
        word = f"zeta{random.randrange(10**9):09d}"
        if _bucket(word) not in taken:
            taken.add(_bucket(word))
            found.append(word)
    return found
