"""An RFC 3161 time-stamp authority on loopback: HTTP POST of a TimeStampReq (application/timestamp-query), answered by
pyHanko's test TSA with a key and certificate made by the test's CA (application/timestamp-reply)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys, tsp
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tests.utils.pki import TestPki, asn1


@contextmanager
def tsa_server(pki: TestPki) -> Iterator[tuple[str, list[int]]]:
    """The URL of a running TSA and the list of requests it answered (their sizes)."""
    issued = pki.tsa()
    key = keys.PrivateKeyInfo.load(
        issued.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    authority = DummyTimeStamper(
        tsa_cert=asn1(issued.cert),
        tsa_key=key,
        certs_to_embed=SimpleCertificateStore.from_certs([asn1(pki.ca.cert)]),
    )
    answered: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Type") != "application/timestamp-query":
                self.send_error(415)
                return
            reply = authority.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            answered.append(len(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", answered
    finally:
        server.shutdown()
        server.server_close()
