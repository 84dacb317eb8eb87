"""Where webhooks may go: http(s) only (https in production), no credentials in the URL, and no private,
loopback, link-local or otherwise internal address unless its network is allow-listed (WEBHOOK_ALLOWED_NETWORKS).

The address check runs when a subscription is created and again before every delivery (the name may have been
re-pointed since).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from urllib.parse import urlsplit

from core.settings import settings


class UnsafeTarget(ValueError):
    """The webhook URL is not acceptable; the message says why, in Portuguese."""


class UnresolvableTarget(UnsafeTarget):
    """The host name does not resolve now (may be temporary)."""


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
    """Scheme, credentials and host of a webhook URL; returns (host, port)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # urllib's reasons are in English: say which part is wrong
        part = "endereço IPv6 malformado" if "IPv6" in str(exc) else "a porta deve ser um número de 0 a 65535"
        raise UnsafeTarget(f"URL inválida: {part}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("o webhook precisa de uma URL http(s)")
    if settings.ENVIRONMENT == "production" and parts.scheme != "https":
        raise UnsafeTarget("em produção o webhook precisa ser https")
    if parts.username or parts.password:
        raise UnsafeTarget("a URL não pode conter credenciais; o webhook é autenticado pela assinatura HMAC")
    if not parts.hostname:
        raise UnsafeTarget("a URL não tem host")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_webhook_target(url: str) -> None:
    """Raise UnsafeTarget unless every address the URL's host resolves to may be called."""
    host, port = check_url_shape(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableTarget(f"o host '{host}' não foi resolvido pelo DNS") from exc
    allowed = _allowed(settings.WEBHOOK_ALLOWED_NETWORKS)
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _internal(address) and not any(address in network for network in allowed):
            raise UnsafeTarget(
                f"o host '{host}' aponta para o endereço interno {address}; webhooks só vão para "
                "endereços públicos ou redes em WEBHOOK_ALLOWED_NETWORKS"
            )
