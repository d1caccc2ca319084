"""Danish pages (English on the public pages, when chosen: intake.i18n) for what can go wrong
on BL Intake's own pages: 400 (a refused CSRF token, an unknown Host), 404, 410 (a receipt
whose data is deleted: intake.public), 413, 429, 500 and 503.

Never a stack trace. The pages render without touching the database (no context
processors, no signed-in user), because one of them answers "the database is unavailable".
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import gettext
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import InternalServerError, NotFound, RequestEntityTooLarge, SecurityError

from intake.state import current_intake
from intake.translation import _l
from intake.web import csrf

# Seconds a client is asked to wait before trying again when the database is unavailable.
DATABASE_RETRY_AFTER_SECONDS = 30

TOO_LARGE = (
    _l("Det, du sendte, er for stort"),
    [
        _l(
            "Det, du sendte, er for stort til, at vi kan tage imod det. Formularerne har ikke brug "
            "for så meget tekst."
        ),
        _l("Gå tilbage, gør teksten kortere, og send igen."),
    ],
)
TOO_MANY = (
    _l("For mange henvendelser"),
    [
        _l(
            "Der er sendt for mange formularer fra din adresse på kort tid. "
            "Vent lidt, og prøv igen."
        ),
    ],
)
SERVER_ERROR = (
    _l("Der skete en fejl"),
    [
        _l("Der skete en fejl hos os, og siden kunne ikke vises. Prøv igen om lidt."),
        _l("Sker det igen, så skriv til BL på info@bl.dk."),
    ],
)
UNAVAILABLE = (
    _l("Vi kan ikke gemme din henvendelse lige nu"),
    [
        _l(
            "Formularen kunne ikke gemmes, fordi vores database ikke svarer lige nu. Prøv igen om "
            "et øjeblik."
        ),
        _l("Gå tilbage med browserens tilbage-knap: det, du har skrevet, står der normalt stadig."),
    ],
)
UNAVAILABLE_PAGE = (  # the same, for a page asked for (nothing was sent, so nothing to keep)
    _l("Siden kan ikke vises lige nu"),
    [
        _l(
            "Siden kunne ikke hentes, fordi vores database ikke svarer lige nu. Prøv igen om et "
            "øjeblik."
        ),
    ],
)

# The database errors that mean "not reachable now", not a fault in a query.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)


def render_error(page: tuple[Any, list[Any]]) -> str:
    """The page, rendered straight from the template: no context processors, which in the
    back office would ask the database for the signed-in user."""
    title, paragraphs = page
    template = current_app.jinja_env.get_template("intake/fejl.html")
    return template.render(title=title, paragraphs=paragraphs)


def csrf_refused(error: CSRFError) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """400: the form again, as posted, when the page shows one; else the error page. (A form
    made from the database, the catalogue's, cannot be shown while it is down: 503.)"""
    again = csrf.form_again(request.endpoint)
    if again is None:
        return render_error((gettext("Det blev ikke sendt"), [csrf.REFUSED])), 400
    try:
        return again(csrf.REFUSED), 400
    except DATABASE_UNAVAILABLE as unavailable:
        return database_unavailable(unavailable)


def not_found(error: NotFound) -> tuple[str, int]:
    return render_template("intake/404.html"), 404


def too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    return render_error(TOO_LARGE), 413


def too_many(error: RateLimitExceeded) -> tuple[str, int, dict[str, str]]:
    return render_error(TOO_MANY), 429, {"Retry-After": str(retry_after_seconds(error))}


def unknown_host(error: SecurityError) -> tuple[str, int]:
    """400 for a Host header that INTAKE_TRUSTED_HOSTS does not list. No URL can be built for
    an unknown host, so the page links to nothing (not even the stylesheet)."""
    return render_template("intake/ukendt_vaert.html"), 400


def server_error(error: InternalServerError) -> tuple[str, int]:
    return render_error(SERVER_ERROR), 500


def database_unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
    current_app.logger.error("Database unavailable: %s", error)
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    page = UNAVAILABLE if request.method == "POST" else UNAVAILABLE_PAGE
    return render_error(page), 503, headers


def retry_after_seconds(error: RateLimitExceeded) -> int:
    """Seconds until the limit that was hit lets a post through again (at least 1)."""
    window = max(1, int(error.limit.limit.get_expiry()))
    current = current_intake().limiter.current_limit
    if current is not None and current.breached:  # reset_at is rounded up: never past a window
        return min(window, max(1, math.ceil(current.reset_at - time.time())))
    return window


def register(
    target: Flask | Blueprint,
    *,
    rate_limited: bool = False,
    not_found_page: bool = False,
    bad_host_page: bool = False,
) -> None:
    """The handlers on one of our blueprints, or on the standalone app itself.

    The back office keeps its own 429 page (its sign-in's); `rate_limited` adds ours.
    `not_found_page`: our Danish 404 page (the public pages, the standalone app).
    `bad_host_page`: the 400 for a Host header not trusted (the standalone app).
    """
    target.register_error_handler(CSRFError, csrf_refused)
    target.register_error_handler(RequestEntityTooLarge, too_large)
    target.register_error_handler(InternalServerError, server_error)
    for error in DATABASE_UNAVAILABLE:
        target.register_error_handler(error, database_unavailable)
    if rate_limited:
        target.register_error_handler(RateLimitExceeded, too_many)
    if not_found_page:
        target.register_error_handler(NotFound, not_found)
    if bad_host_page:
        target.register_error_handler(SecurityError, unknown_host)
