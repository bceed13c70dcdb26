"""Which URLs a webhook may call: http(s), on an allowed host, never a private address unless allowed.

Checked when a webhook is registered and again before every request: the host is resolved and
every address it resolves to must pass, and the request then goes to the checked address (the
Host header and TLS name stay the host's), so a DNS answer that changes in between cannot point
it elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from app.errors import InvalidInput

MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class UrlPolicy:
    allowed_hosts: tuple[str, ...]  # exact names, "*.example.com" suffixes, or "*" for any public host
    allow_private: bool = False  # loopback, private, link-local, ... (tests; an operator's own network)

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.allowed_hosts:
            pattern = pattern.strip().lower().rstrip(".")
            if pattern == "*" or pattern == host:
                return True
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
        return False


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (an address), and the host name the request is for."""

    url: str
    host: str
    connect_url: str  # the URL with the host replaced by the checked address


def refuse(reason: str, message: str) -> InvalidInput:
    return InvalidInput(message, field="url", reason=reason)


def parse(url: str, policy: UrlPolicy) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL (syntax and host name only; no resolving)."""
    if len(url) > MAX_URL_LENGTH:
        raise refuse("URL_TOO_LONG", f"A webhook URL has at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise refuse("URL_INVALID", "The webhook URL is not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise refuse("URL_SCHEME_NOT_ALLOWED", "A webhook URL must be http or https.")
    host = parts.hostname or ""
    if not host:
        raise refuse("URL_INVALID", "The webhook URL has no host.")
    if parts.username or parts.password:
        raise refuse("URL_INVALID", "A webhook URL may not carry a user name or password; the signature authenticates us.")
    if not policy.host_allowed(host):
        raise refuse("HOST_NOT_ALLOWED", f"Webhooks may not call {host}: it is not in WEBHOOK_ALLOWED_HOSTS.")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def address_allowed(address: str, policy: UrlPolicy) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return False
    return policy.allow_private or ip.is_global


async def resolve(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # an address already: nothing to look up
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise refuse("HOST_UNRESOLVABLE", f"The host {host} does not resolve.") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check(url: str, policy: UrlPolicy) -> Target:
    """The URL, checked: refused (INVALID_INPUT with a ``reason``) unless every address of its host is allowed."""
    scheme, host, port = parse(url, policy)
    addresses = await resolve(host, port)
    bad = [a for a in addresses if not address_allowed(a, policy)]
    if bad or not addresses:
        raise refuse(
            "ADDRESS_NOT_ALLOWED", f"The host {host} resolves to an address webhooks may not call ({', '.join(bad) or 'none'})."
        )
    parts = urlsplit(url.strip())
    chosen = addresses[0]
    literal = f"[{chosen}]" if ":" in chosen else chosen
    connect = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    return Target(url=url.strip(), host=host, connect_url=connect)
