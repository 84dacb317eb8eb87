"""Where webhooks may go: http(s) only (https in production), no credentials in the URL, and no private,
loopback, link-local or otherwise internal address unless its network is allow-listed (WEBHOOK_ALLOWED_NETWORKS).

The host is read as the HTTP client (httpx) reads it: an internationalised name becomes its IDNA2008 form
(`straße` → `xn--strae-oqa`, never IDNA2003's `strasse`), so the name checked is the name connected to. A
subscription is checked when it is created; at delivery the connection itself resolves the name once, vets every
address and connects only to a vetted one (tasks/notify/egress.py), so a name re-pointed in between (DNS
rebinding) gains nothing.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from core.settings import settings


class UnsafeTarget(ValueError):
    """The webhook URL is not acceptable; the message says why, in Portuguese."""


class UnresolvableTarget(UnsafeTarget):
    """The host name does not resolve now (may be temporary)."""


def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for an ASCII host name (or an address literal)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# The resolver every check and every webhook connection uses: one place for tests (and operators) to replace.
resolve: Callable[[str, int], list[str]] = system_resolve


@functools.lru_cache(maxsize=8)
def _allowed(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def check_url_shape(url: str) -> tuple[str, int]:
    """Scheme, credentials and host of a webhook URL; returns (host, port), the host as the HTTP client sends it
    (lower case, IDNA2008 A-labels)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # urllib's reasons are in English: say which part is wrong
        part = "endereço IPv6 malformado" if "IPv6" in str(exc) else "a porta deve ser um número de 0 a 65535"
        raise UnsafeTarget(f"URL inválida: {part}") from exc
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        why = "nome internacionalizado inválido em IDNA2008" if "IDNA" in str(exc) else "host ou porta malformados"
        raise UnsafeTarget(f"URL inválida: {why}") from exc
    if parts.scheme not in ("http", "https") or parsed.scheme != parts.scheme:
        raise UnsafeTarget("o webhook precisa de uma URL http(s)")
    if settings.ENVIRONMENT == "production" and parts.scheme != "https":
        raise UnsafeTarget("em produção o webhook precisa ser https")
    if parts.username or parts.password or parsed.userinfo:
        raise UnsafeTarget("a URL não pode conter credenciais; o webhook é autenticado pela assinatura HMAC")
    host = parsed.raw_host.decode("ascii")
    if not parts.hostname or not host:
        raise UnsafeTarget("a URL não tem host")
    return host, port or (443 if parts.scheme == "https" else 80)


def vetted_addresses(host: str, port: int) -> list[str]:
    """Resolve the host once and return its addresses, or raise UnsafeTarget if any of them may not be called."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableTarget(f"o host '{host}' não foi resolvido pelo DNS") from exc
    if not addresses:
        raise UnresolvableTarget(f"o host '{host}' não foi resolvido pelo DNS")
    allowed = _allowed(settings.WEBHOOK_ALLOWED_NETWORKS)
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if _internal(address) and not any(address in network for network in allowed):
            raise UnsafeTarget(
                f"o host '{host}' aponta para o endereço interno {address}; webhooks só vão para "
                "endereços públicos ou redes em WEBHOOK_ALLOWED_NETWORKS"
            )
    return addresses


def check_webhook_target(url: str) -> None:
    """Raise UnsafeTarget unless every address the URL's host resolves to may be called."""
    vetted_addresses(*check_url_shape(url))
