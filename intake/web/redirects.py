"""Redirects that name no host.

Werkzeug answers `/pjecer` with a 308 to `/pjecer/` and writes the Location as an absolute URL
built from the request's Host header: `http://<any Host>/pjecer/`, which a cache may keep and
hand to others. Our own redirects are paths already (url_for); this makes the slash redirects
paths too.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from intake.web.blueprints import OWN_BLUEPRINTS


def _as_path(location: str) -> str:
    parts = urlsplit(location)
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


def relative_slash_redirect(response: Response) -> Response:
    """Every slash redirect as a path (the standalone app, which owns every page)."""
    if isinstance(request.routing_exception, RequestRedirect) and response.location:
        response.location = _as_path(response.location)
    return response


def relative_slash_redirect_to_own_pages(response: Response) -> Response:
    """Only those to BL Intake's own pages: a host app's are left as the host made them."""
    error = request.routing_exception
    if not isinstance(error, RequestRedirect) or not response.location:
        return response
    adapter = current_app.create_url_adapter(request)  # the Host is good: it was matched
    if adapter is None:
        return response
    path = urlsplit(error.new_url).path.removeprefix(request.script_root)
    try:
        endpoint, _ = adapter.match(path, method=request.method)
    except HTTPException:  # not a page of this app after all
        return response
    if str(endpoint).partition(".")[0] in OWN_BLUEPRINTS:
        response.location = _as_path(response.location)
    return response
