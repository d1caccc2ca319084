"""Address allow-lists (INTAKE_METRICS_ALLOW): which clients may read a page.

The client is `request.remote_addr`, as for the rate limits: the peer that connected, or the
address a host app's ProxyFix resolved. A request that a proxy relayed (it carries
X-Forwarded-For, Forwarded or X-Real-IP) is refused unless ProxyFix resolved its address,
whatever the peer: behind a reverse proxy on the same machine every visitor would otherwise
look like 127.0.0.1. Resolved means ProxyFix replaced the peer's address with another one from
X-Forwarded-For; a ProxyFix that is only installed resolves nothing when it trusts fewer or
more proxies than sent the header (`x_for=0`, `x_for=2` with one entry), and it never reads
Forwarded or X-Real-IP.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
PROXY_FIX_ORIGINAL = "werkzeug.proxy_fix.orig"  # ProxyFix's copy of the values it replaced


def parse(setting: str, value: str | Iterable[str]) -> tuple[Network, ...]:
    """Comma-separated addresses and networks (`10.0.0.5`, `10.0.0.0/24`, `::1`); "" is none.

    A bad entry raises ValueError naming the setting and the entry.
    """
    entries = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for entry in (str(e).strip() for e in entries):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{setting}: {entry!r} is not an IP address or network; give addresses and "
                "networks separated by commas, e.g. '127.0.0.1, 10.20.0.0/16', or '' for nobody"
            ) from None
    return tuple(networks)


def allows(networks: Iterable[Network], environ: dict[str, Any], address: str | None) -> bool:
    """Whether the client at `address` (request.remote_addr) may in."""
    if any(h in environ for h in PROXY_HEADERS) and not resolved(environ):
        return False
    try:
        client = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False  # a Unix socket, or nothing: no address to check
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [client]
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped:
        candidates.append(client.ipv4_mapped)  # ::ffff:127.0.0.1 from a dual-stack socket
    return any(c in n for c in candidates for n in networks)


def resolved(environ: dict[str, Any]) -> bool:
    """Whether ProxyFix replaced the connecting peer's address with the client's."""
    original = environ.get(PROXY_FIX_ORIGINAL)
    return isinstance(original, dict) and original.get("REMOTE_ADDR") != environ.get("REMOTE_ADDR")
