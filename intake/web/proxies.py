"""Behind reverse proxies (INTAKE_PROXY_FIX): the client's address and scheme, as the proxy saw
them, from X-Forwarded-For and X-Forwarded-Proto, through Werkzeug's ProxyFix.

ProxyFix believes whoever sends the headers. So they are believed only from the proxy: on a
connection through gunicorn's Unix socket, which only nginx may open (deploy/systemd: the socket
is the web group's). A request sent over TCP straight to gunicorn (a /metrics scrape, a health
check, or someone on the machine trying to pass for another address) keeps the address that
connected, whatever headers it carries: the rate limits, the /metrics allow-list and the audit
log all read that one address, `request.remote_addr`. (gunicorn draws the line at the same
place: it trusts forwarding headers from a Unix socket unconditionally.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def came_over_tcp(environ: WSGIEnvironment) -> bool:
    """Whether the peer has an IP address: a TCP connection, not the proxy's Unix socket."""
    try:
        ipaddress.ip_address(str(environ.get("REMOTE_ADDR", "")).split("%", 1)[0])
    except ValueError:
        return False
    return True


class TrustedProxies:
    """ProxyFix for requests that came through the proxy's socket; others as they came."""

    def __init__(self, app: WSGIApplication, proxies: int) -> None:
        self.app = app
        self.proxied = ProxyFix(app, x_for=proxies, x_proto=proxies)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        handler: Any = self.app if came_over_tcp(environ) else self.proxied
        result: Iterable[bytes] = handler(environ, start_response)
        return result
