"""Where a webhook connects, and what a hostile receiver can make the delivery do: real deliveries (send_all, the
client deliver-notifications uses) to small HTTP servers on loopback, with names answered by a test resolver.

127.0.0.2 stands for a public receiver (the only network allowed here); 127.0.0.1, on the same port, for the
internal service an attacker would like to reach: no request may ever arrive there.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import socketserver
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest

from core import netguard
from core.settings import settings
from models.crud.notifications import Job, Outcome
from models.db import utcnow
from models.notification import Channel
from tasks.notify.delivery import ANSWER_BYTES, send_all

PUBLIC, INTERNAL = "127.0.0.2", "127.0.0.1"


@dataclass
class Seen:
    host: str
    path: str
    sni: str | None = None


@dataclass
class Loopback:
    """A raw HTTP/1.1 server: records each request (Host, path, TLS server name) and answers with `answer`, a
    function of the connection's file (it writes whatever bytes it likes, as slowly as it likes)."""

    address: str
    port: int
    answer: object = None
    tls: ssl.SSLContext | None = None
    seen: list[Seen] = field(default_factory=list)
    written: int = 0

    def start(self) -> Loopback:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                sni = getattr(self.connection, "sni", None)
                lines = []
                while (line := self.rfile.readline(65536)) not in (b"\r\n", b""):
                    lines.append(line.decode("latin-1").strip())
                if not lines:
                    return
                headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
                self.rfile.read(int(headers.get("content-length", 0)))
                owner.seen.append(Seen(headers.get("host", ""), lines[0].split(" ")[1], sni))
                with contextlib.suppress(OSError):  # the client went away: what a cut answer looks like from here
                    (owner.answer or ok)(self.wfile, owner)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def get_request(self):
                connection, peer = super().get_request()
                if owner.tls is None:
                    return connection, peer
                names: list[str] = []
                owner.tls.sni_callback = lambda sock, name, context: names.append(name)
                wrapped = owner.tls.wrap_socket(connection, server_side=True)
                wrapped.sni = names[0] if names else None
                return wrapped, peer

        self.server = Server((self.address, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ok(out, server) -> None:
    out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")


@pytest.fixture
def servers(monkeypatch):
    """A receiver on PUBLIC and a would-be victim on INTERNAL, on the same port; only PUBLIC's network allowed."""
    monkeypatch.setattr(settings, "WEBHOOK_ALLOWED_NETWORKS", f"{PUBLIC}/32")
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind((PUBLIC, 0))
            port = probe.getsockname()[1]
        try:
            victim = Loopback(INTERNAL, port).start()
        except OSError:
            continue
        receiver = Loopback(PUBLIC, port).start()
        yield receiver, victim
        receiver.stop()
        victim.stop()
        return
    raise RuntimeError("no port free on both loopback addresses")


def deliver(target: str, within: float = 20) -> tuple[Outcome, float]:
    """One webhook delivery as deliver-notifications makes it; the test gives up after `within` seconds."""
    job = Job(
        notification_id=uuid.uuid4(),
        attempt=1,
        max_attempts=4,
        channel=Channel.WEBHOOK,
        target=target,
        secret_sealed=None,
        event_id=uuid.uuid4(),
        event_type="document.submitted",
        occurred_at=utcnow(),
        orgao=None,
        document_id=None,
        data={},
    )
    started = time.monotonic()
    (outcome,) = asyncio.run(asyncio.wait_for(send_all([job]), within))
    return outcome, time.monotonic() - started


# Connect where you checked


def test_an_idna_name_is_checked_under_the_name_it_is_connected_to(servers, fake_dns):
    receiver, victim = servers
    # IDNA2003 (Python's codec) reads straße as strasse; httpx sends IDNA2008's xn--strae-oqa
    fake_dns.add("strasse.example", [PUBLIC])
    fake_dns.add("xn--strae-oqa.example", [INTERNAL])
    url = f"http://straße.example:{receiver.port}/hook"
    with pytest.raises(netguard.UnsafeTarget, match=f"endereço interno {INTERNAL}"):
        netguard.check_webhook_target(url)  # at subscription
    outcome, _ = deliver(url)  # at delivery (a subscription made before this check existed)
    assert victim.seen == [] and receiver.seen == []
    assert not outcome.delivered and not outcome.retryable and f"endereço interno {INTERNAL}" in outcome.error

    fake_dns.add("strasse.example", [INTERNAL])
    fake_dns.add("xn--strae-oqa.example", [PUBLIC])
    netguard.check_webhook_target(url)
    outcome, _ = deliver(url)
    assert outcome.delivered and victim.seen == []
    assert [s.host for s in receiver.seen] == [f"xn--strae-oqa.example:{receiver.port}"]


def test_a_name_rebound_between_check_and_connect_never_reaches_the_internal_address(servers, fake_dns):
    receiver, victim = servers
    fake_dns.add("rebind.example", [PUBLIC], [INTERNAL])  # public when checked, internal on any later look-up
    outcome, _ = deliver(f"http://rebind.example:{receiver.port}/hook")
    assert victim.seen == []
    assert outcome.delivered and fake_dns.lookups["rebind.example"] == 1
    assert [(s.host, s.path) for s in receiver.seen] == [(f"rebind.example:{receiver.port}", "/hook")]

    fake_dns.add("mixed.example", [PUBLIC, INTERNAL])  # every address is vetted, not only the first
    outcome, _ = deliver(f"http://mixed.example:{receiver.port}/hook")
    assert not outcome.delivered and not outcome.retryable and f"endereço interno {INTERNAL}" in outcome.error
    assert victim.seen == [] and len(receiver.seen) == 1


def test_https_keeps_the_host_name_and_its_certificate_check(servers, fake_dns, tmp_path, monkeypatch):
    receiver, victim = servers
    ca_file, context = tls_for("hooks.example", tmp_path)
    receiver.tls = context
    monkeypatch.setattr(settings, "WEBHOOK_CA_FILE", ca_file)
    fake_dns.add("hooks.example", [PUBLIC], [INTERNAL])
    outcome, _ = deliver(f"https://hooks.example:{receiver.port}/hook")
    assert outcome.delivered, outcome.error
    (seen,) = receiver.seen
    assert (seen.sni, seen.host) == ("hooks.example", f"hooks.example:{receiver.port}")
    assert victim.seen == []

    fake_dns.add("other.example", [PUBLIC])  # the same address under a name its certificate does not carry
    outcome, _ = deliver(f"https://other.example:{receiver.port}/hook")
    assert not outcome.delivered and outcome.retryable and "falha de conexão" in outcome.error
    assert len(receiver.seen) == 1


# What a hostile receiver can make the delivery do


def redirect_to_victim(out, server) -> None:
    body = b"corpo-do-receptor-301"
    out.write(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/segredo-do-location\r\nContent-Length: %d\r\n\r\n%s"
        % (server.port, len(body), body)
    )


def error_with_text(out, server) -> None:
    body = b"Traceback: senha-do-banco-interno " + b"x" * 500
    out.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.mark.parametrize(
    ("answer", "code", "retryable"), [(redirect_to_victim, 302, False), (error_with_text, 500, True)]
)
def test_answers_are_never_followed_or_kept(servers, answer, code, retryable):
    receiver, victim = servers
    receiver.answer = answer
    outcome, _ = deliver(f"http://{PUBLIC}:{receiver.port}/hook")
    assert (outcome.delivered, outcome.status_code, outcome.retryable) == (False, code, retryable)
    assert outcome.error.startswith(f"HTTP {code}: ")
    for echoed in ("corpo-do-receptor", "segredo-do-location", "127.0.0.1", "senha-do-banco", "xxxx"):
        assert echoed not in outcome.error
    assert victim.seen == []


def test_a_malformed_answer_is_not_quoted(servers):
    receiver, _ = servers
    receiver.answer = lambda out, server: out.write(b"HTTP/1.1 2xx segredo-na-linha-de-status\r\n\r\n")
    outcome, _ = deliver(f"http://{PUBLIC}:{receiver.port}/hook")
    assert not outcome.delivered and outcome.retryable
    assert outcome.error == "falha de conexão: RemoteProtocolError"


def endless(out, server) -> None:
    out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
    chunk = b"\0" * 16384
    while True:  # about 3 MB/s, until the client hangs up
        out.write(chunk)
        server.written += len(chunk)
        time.sleep(0.005)


def test_a_huge_answer_is_read_only_up_to_the_cap(servers):
    receiver, _ = servers
    receiver.answer = endless
    outcome, elapsed = deliver(f"http://{PUBLIC}:{receiver.port}/hook", within=10)
    assert outcome.delivered and outcome.status_code == 200
    assert elapsed < settings.NOTIFY_TIMEOUT_SECONDS
    time.sleep(0.3)  # the server notices the closed connection on its next writes
    written = receiver.written
    time.sleep(0.3)
    assert receiver.written == written and written < ANSWER_BYTES + 8 * 1024 * 1024


def drip_headers(out, server) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
        out.write(bytes([byte]))
        time.sleep(0.1)


def drip_body(out, server) -> None:
    out.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(100000):
        out.write(b".")
        time.sleep(0.1)


@pytest.mark.parametrize("answer", [drip_headers, drip_body])
def test_a_slow_drip_hits_the_total_deadline(servers, monkeypatch, answer):
    receiver, _ = servers
    receiver.answer = answer
    monkeypatch.setattr(settings, "NOTIFY_TIMEOUT_SECONDS", 1.0)  # each byte comes well within a per-read timeout
    outcome, elapsed = deliver(f"http://{PUBLIC}:{receiver.port}/hook", within=8)
    assert not outcome.delivered and outcome.retryable and "tempo esgotado" in outcome.error
    assert 0.9 <= elapsed < 3


def tls_for(hostname: str, folder) -> tuple[str, ssl.SSLContext]:
    """A test CA (its PEM file, for WEBHOOK_CA_FILE) and a server context with its certificate for `hostname`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("AC de teste dos webhooks"))
        .issuer_name(name("AC de teste dos webhooks"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )  # key_cert_sign, crl_sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(hostname))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_file), str(key_file))
    return str(ca_file), context
