"""Security headers on every response of BL Intake's own pages.

The headers go only on responses of BL Intake's blueprints: a host site that mounts the
extension decides for its own pages. The standalone app (intake.factory) owns every page and
applies them everywhere.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

from intake.web.blueprints import ADMIN, OWN_BLUEPRINTS, PUBLIC

# Pages with personal data: a receipt (its token is in the URL), anything in the back office,
# and the answer to a form post (it shows the fields again). Never kept by a browser or proxy.
NO_STORE_BLUEPRINTS = frozenset({ADMIN})
NO_STORE_ENDPOINTS = frozenset({f"{PUBLIC}.receipt"})

HSTS = "max-age=31536000"


def content_security_policy(frame_ancestors: str | None) -> str:
    """Scripts, styles and images only from our own static route (the one script, intake.js,
    moves focus to a form's error summary; nothing inline), forms posting only to us, and no
    framing except by the site INTAKE_FRAME_ANCESTORS names (a host page that embeds the forms)."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors " + (frame_ancestors or "'none'"),
        ]
    )


def add_headers(response: Response) -> Response:
    """Add the headers to this response, whichever page it is.

    HSTS is sent outside debug and testing, and on any https request: browsers ignore it over
    plain http, and leaving it out in debug keeps a developer's http://127.0.0.1 usable.
    """
    app = current_app
    ancestors = app.config.get("INTAKE_FRAME_ANCESTORS")
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(ancestors))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Receipt tokens are in URLs: never send our URLs to another site.
    headers.setdefault("Referrer-Policy", "same-origin")
    if not ancestors:
        headers.setdefault("X-Frame-Options", "DENY")
    elif ancestors.strip() == "'self'":
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    # Otherwise no X-Frame-Options: it cannot name another site; frame-ancestors does.
    if request.is_secure or not (app.debug or app.testing):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if (
        request.blueprint in NO_STORE_BLUEPRINTS
        or request.endpoint in NO_STORE_ENDPOINTS
        or (request.blueprint == PUBLIC and request.method == "POST")
    ):
        headers["Cache-Control"] = "no-store"
    return response


def add_headers_to_own_pages(response: Response) -> Response:
    """Only BL Intake's own pages: a host app's pages are left as the host made them."""
    if request.blueprint in OWN_BLUEPRINTS:
        return add_headers(response)
    return response


def limit_body_size(app: Flask) -> None:
    """Refuse bodies over INTAKE_MAX_BODY_BYTES on BL Intake's own pages (413).

    Set per request (Flask 3.1), so a host app's MAX_CONTENT_LENGTH stays the host's own.
    """

    def apply_limit() -> None:
        if request.blueprint in OWN_BLUEPRINTS:
            request.max_content_length = current_app.config["INTAKE_MAX_BODY_BYTES"]

    app.before_request(apply_limit)


def init_security(app: Flask) -> None:
    """Called by `Intake.init_app`: the headers and the body limit on our blueprints."""
    app.after_request(add_headers_to_own_pages)
    limit_body_size(app)
