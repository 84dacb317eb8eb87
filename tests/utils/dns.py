"""A test resolver in front of the system's (socket.getaddrinfo, which our resolver and httpx's both end in): the
names a test gives answer what it says, successive look-ups in turn (the last answer repeats), the way a DNS server
under an attacker's control could; every other name goes to the system. A non-ASCII name is encoded as CPython's
getaddrinfo encodes it (the IDNA2003 codec: `straße` → `strasse`)."""

from __future__ import annotations

import socket
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class FakeDns:
    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: Counter = field(default_factory=Counter)

    def add(self, name: str, *answers: list[str]) -> None:
        """`name` answers the first list on its first look-up, the second on the next, and so on."""
        self.answers[name.lower()] = list(answers)


def install(monkeypatch) -> FakeDns:
    """Put a FakeDns in front of socket.getaddrinfo for the test (the `fake_dns` fixture, tests/conftest.py)."""
    dns = FakeDns()
    system = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and not name.isascii():
            name = name.encode("idna").decode("ascii")
        key = (name or "").lower().rstrip(".")
        if key not in dns.answers:
            return system(host, port, family, type, proto, flags)
        answers = dns.answers[key]
        addresses = answers[min(dns.lookups[key], len(answers) - 1)]
        dns.lookups[key] += 1
        number = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, number, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, number))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return dns
