"""Who is on the other end of a request: the client's address, through trusted proxies only.

Behind a reverse proxy every request comes from the proxy's address; the proxy names the
client in X-Forwarded-For. That header is whatever the sender wrote, so it is believed only
from the proxies listed in PEYVAND_TRUSTED_PROXIES, and only as far as it was written by them:
the list is walked from the right (the hop nearest to us) through trusted hops, and the first
address that is not a trusted proxy is the client. Sign-in throttling and rate limits count
per that address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# What only a trusted proxy may tell us; dropped from every other sender's request.
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                     "HTTP_X_FORWARDED_PORT", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(settings.PEYVAND_TRUSTED_PROXIES))


def parse_address(value: str) -> Address | None:
    """An address as proxies write it ("203.0.113.9", "[2001:db8::1]:443", "1.2.3.4:5678");
    an IPv4 address mapped into IPv6 is the IPv4 address."""
    text = value.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1, localhost and *.localhost (as in ALLOWED_HOSTS or a URL)."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", ".localhost") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or when that is a trusted proxy, the nearest
    address in X-Forwarded-For that is not one. None when nothing readable is there."""
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_proxies()
    if not is_trusted(remote, networks):
        return str(remote) if remote is not None else None
    client = remote
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = parse_address(hop)
        if address is None:  # unreadable: nothing left of it was written by our proxies
            break
        client = address
        if not is_trusted(address, networks):
            break
    return str(client)


class TrustedProxyMiddleware:
    """Forwarding headers count only from a trusted proxy: from anyone else they are removed
    before Django reads them (X-Forwarded-Proto decides request.is_secure())."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if any(name in meta for name in FORWARDED_HEADERS) and not is_trusted(
                parse_address(meta.get("REMOTE_ADDR", "")), trusted_proxies()):
            for name in FORWARDED_HEADERS:
                meta.pop(name, None)
        return self.get_response(request)
