"""A webhook receiver on loopback: checks the HMAC signature as receivers are told to (docs/api.md, webhooks),
deduplicates on the Idempotency-Key, and can be told per path to fail N times, answer a given status (with
Retry-After), hang, or take some time to answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance: float = 300) -> bool:
    """The receiver's check, as documented: HMAC-SHA256 of "<timestamp>.<body>", compared in constant time, with
    a bound on the timestamp's age against replays."""
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) <= tolerance


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the listen backlog: many senders connect at once (the default 5 drops them)


@dataclass
class Behaviour:
    fail_times: int = 0
    fail_status: int = 500
    retry_after: str | None = None
    status: int = 200  # answered once the failures are used up
    hang_seconds: float = 0.0
    delay_seconds: float = 0.0
    on_request: object = None  # a callable run (once) on the first request


@dataclass
class Received:
    path: str
    event_id: str
    headers: dict[str, str]
    body: dict
    signature_ok: bool


@dataclass
class WebhookReceiver:
    port: int
    secrets: dict[str, str] = field(default_factory=dict)  # path → secret
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    answered: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # answer in the configured delay, not 40 ms later (delayed ACK)

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                """/_stats: what arrived (for a receiver in another process, as in the benchmark)."""
                path = self.path.partition("?path=")[2] or None
                with receiver.lock:
                    seen = [r for r in receiver.received if path is None or r.path == path]
                    stats = {
                        "received": len(seen),
                        "unique": len({r.event_id for r in seen}),
                        "bad_signatures": sum(1 for r in seen if not r.signature_ok),
                    }
                payload = json.dumps(stats).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status, headers = receiver._handle(self.path, dict(self.headers.items()), body)
                payload = json.dumps({"status": status}).encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.secrets.clear()
            self.behaviours.clear()
            self.received.clear()
            self.answered.clear()

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        with self.lock:
            behaviour = self.behaviours.get(path, Behaviour())
            hook, behaviour.on_request = behaviour.on_request, None
            self.answered[path] += 1
            failing = behaviour.fail_times > 0
            if failing:
                behaviour.fail_times -= 1
        if callable(hook):
            hook()
        if behaviour.hang_seconds:
            time.sleep(behaviour.hang_seconds)
        if behaviour.delay_seconds:
            time.sleep(behaviour.delay_seconds)
        if failing:
            return behaviour.fail_status, ({"Retry-After": behaviour.retry_after} if behaviour.retry_after else {})
        lowered = {k.lower(): v for k, v in headers.items()}
        secret = self.secrets.get(path, "")
        ok = verify(secret, lowered.get("x-nexora-timestamp", "0"), body, lowered.get("x-nexora-signature", ""))
        if behaviour.status < 300:
            with self.lock:
                self.received.append(Received(path, lowered.get("idempotency-key", ""), lowered, json.loads(body), ok))
        return behaviour.status, {}

    def events(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]

    def unique_events(self, path: str | None = None) -> set[str]:
        """What a receiver deduplicating on the Idempotency-Key has processed."""
        return {r.event_id for r in self.events(path)}


def main() -> None:
    """Run a receiver alone: python -m tests.servers.webhook PORT DELAY_SECONDS SECRET"""
    import sys

    port, delay, secret = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    receiver = WebhookReceiver(port=port)
    for path in ("/bench", "/plain"):
        receiver.behaviours[path] = Behaviour(delay_seconds=delay)
        receiver.secrets[path] = secret
    receiver.server.serve_forever()


if __name__ == "__main__":
    main()
