"""The webhook client's connections: each one resolves the host once, vets every address (core/netguard.py) and
connects to a vetted address, so the name checked is the name connected to and a re-pointed name (DNS rebinding)
gains nothing. httpx still speaks to the host by name: the Host header, the TLS server name (SNI) and the
certificate check are the original host's, and the connection pool keeps each host's connections apart.

httpx takes no network backend of its own, so the transport's httpcore pool is built again with one
(httpcore.AsyncNetworkBackend, httpcore's documented extension point); everything else, exception mapping
included, is httpx's own transport.
"""

from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore
import httpx

from core import netguard
from core.settings import settings


class VettedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses netguard vetted for the host being connected to."""

    def __init__(self) -> None:
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await asyncio.to_thread(netguard.vetted_addresses, host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._network.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise netguard.UnsafeTarget("webhooks não vão para sockets locais")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


def ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CAs), or the operator's CA bundle (WEBHOOK_CA_FILE)."""
    if settings.WEBHOOK_CA_FILE:
        return ssl.create_default_context(cafile=str(settings.WEBHOOK_CA_FILE))
    return httpx.create_ssl_context()


class VettedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport (HTTP/1.1, no proxy from the environment) over VettedBackend."""

    def __init__(self, limits: httpx.Limits) -> None:
        context = ssl_context()
        super().__init__(verify=context, trust_env=False, limits=limits)
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("httpx changed: its transport holds no httpcore pool (tasks/notify/egress.py)")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=VettedBackend(),
        )


def client(limit: int) -> httpx.AsyncClient:
    """The webhook client: vetted connections, no redirects, no proxy or certificates from the environment."""
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    return httpx.AsyncClient(
        transport=VettedTransport(limits),
        timeout=httpx.Timeout(settings.NOTIFY_TIMEOUT_SECONDS),
        follow_redirects=False,
        trust_env=False,
    )
