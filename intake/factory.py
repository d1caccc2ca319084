"""The standalone app: what `wsgi.py`, gunicorn and `flask --app wsgi` run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect, send_from_directory, url_for
from werkzeug.wrappers import Response

from intake import i18n, settings
from intake.extension import Intake
from intake.observability import logging_setup, request_log
from intake.paths import STATIC_DIR
from intake.web import error_pages, redirects, security_headers
from intake.web.proxies import TrustedProxies


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; settings come from `test_config`, else from the environment."""
    app = Flask("intake", static_folder=None)
    if test_config is not None:
        app.config.update(test_config)
    given = test_config or {}
    # Session cookies (CSRF and staff sign-in): HttpOnly (Flask's default), SameSite=Lax, and
    # Secure except when debugging or testing. SESSION_COOKIE_SECURE=0 in the environment turns
    # Secure off for plain http (make run on 127.0.0.1, benchmarks); never in production.
    app.config["SESSION_COOKIE_SAMESITE"] = given.get("SESSION_COOKIE_SAMESITE", "Lax")
    secure = os.environ.get("SESSION_COOKIE_SECURE")
    app.config["SESSION_COOKIE_SECURE"] = given.get(
        "SESSION_COOKIE_SECURE",
        secure.strip() not in {"0", "false", "no"} if secure else not (app.debug or app.testing),
    )
    if test_config is None:  # `make run` and its commands: instance/secret_key
        settings.secret_key_from_instance(app)
    Intake(app)
    # This app is BL Intake's alone: its logging, request ids, limits, headers and error pages
    # cover every page.
    logging_setup.configure_logging(app)
    request_log.cover_every_page(app)
    if app.config["MAX_CONTENT_LENGTH"] is None:
        app.config["MAX_CONTENT_LENGTH"] = app.config["INTAKE_MAX_BODY_BYTES"]
    # Behind reverse proxies: the client's address and scheme (intake.web.proxies), and only
    # the Host headers we are (a 400 for others).
    proxies = app.config["INTAKE_PROXY_FIX"]
    if proxies:
        # Flask's documented way to add WSGI middleware (to mypy, wsgi_app is a method).
        app.wsgi_app = TrustedProxies(app.wsgi_app, proxies)  # type: ignore[method-assign]
    if app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = settings.trusted_hosts(app)
    app.after_request(redirects.relative_slash_redirect)
    app.after_request(security_headers.add_headers)
    app.after_request(i18n.remember_choice)  # ?lang= on a page of no blueprint (a 404)
    error_pages.register(app, not_found_page=True, bad_host_page=True)

    @app.get("/")
    def index() -> Response:
        return redirect(url_for("intake_public.pamphlet_order"))

    @app.get("/favicon.ico")
    def favicon() -> Response:
        """For clients that ask for it without reading the pages' <link rel="icon">."""
        return send_from_directory(STATIC_DIR, "favicon.ico", max_age=86400)

    return app
