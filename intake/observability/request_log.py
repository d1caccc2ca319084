"""Request ids, and one log line per request, for BL Intake's pages.

A sane incoming `X-Request-ID` (from BL's proxy or load balancer: 1–128 letters, digits and
`.`, `_`, `:`, `-`) is kept; anything else is replaced by a new id. The id goes back in the
response's `X-Request-ID` and is on every log line written while the request is handled
(log_context.py). A view that stores or shows a submission tags the rest of its request
with the reference (`tag_reference`).

The request line holds the method, the path (never the query string: a search can hold a
name), the status and the duration. `/healthz` and `/metrics` answers log at DEBUG, so scrapes
do not drown the log. A path under the receipt's route holds its token, which opens personal
data: it is logged as the route (`/kvittering/<token>`), whatever the answer (a 405 or 404 has
no endpoint to tell it by), and so is it in the app logger's lines (Flask's
`Exception on … [GET]`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import Token
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, request_started
from werkzeug.wrappers import Response

from intake.observability.log_context import REFERENCES, REQUEST_ID, get_logger
from intake.web.blueprints import OPS, OWN_BLUEPRINTS, PUBLIC

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Endpoints whose URL holds a secret (the receipt's token): any path under the rule's fixed
# start is logged as the rule.
SECRET_PATH_ENDPOINTS = frozenset({f"{PUBLIC}.receipt"})
QUIET_BLUEPRINTS = frozenset({OPS})

log = get_logger("intake.requests")


def request_id_from(header: str | None) -> str:
    """The incoming id if it is sane, else a new one."""
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


@dataclass
class _State:
    """This request's id, start and context tokens (on `g`, dropped when the request ends)."""

    request_id: str
    started: float
    tokens: list[Token[Any]] = field(default_factory=list)
    logged: bool = False


def _state() -> _State:
    """The request's state, made (with its id) on first use in the request."""
    state: _State | None = g.get("_intake_request_log")
    if state is None:
        state = _State(request_id_from(request.headers.get(HEADER)), time.perf_counter())
        state.tokens.append(REQUEST_ID.set(state.request_id))
        g._intake_request_log = state
    return state


def _begin(_sender: Flask, **_extra: Any) -> None:
    """Every request starts with no id and about no submission, whatever an earlier request
    in this thread left behind (a host's teardown that raised before `_end`)."""
    g._intake_fresh_context = [REQUEST_ID.set(None), REFERENCES.set(())]


def _end(_exc: BaseException | None = None) -> None:
    """Restore the context variables as they were before the request."""
    state: _State | None = g.pop("_intake_request_log", None)
    for token in reversed([*g.pop("_intake_fresh_context", []), *(state.tokens if state else [])]):
        token.var.reset(token)


def secret_route(path: str) -> str | None:
    """The route to log instead of `path` when the path is under one that holds a secret."""
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint in SECRET_PATH_ENDPOINTS and path.startswith(rule.rule.split("<")[0]):
            return rule.rule
    return None


class SecretPathFilter(logging.Filter):
    """Writes the route instead of a secret path in the lines of the logger it is on (the
    app's, where Flask logs `Exception on /kvittering/… [GET]`); never drops a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and (route := secret_route(request.path)):
            message = record.getMessage()
            if request.path in message:
                record.msg, record.args = message.replace(request.path, route), None
        return True


SECRET_PATH_FILTER = SecretPathFilter()


def tag_reference(reference: str) -> None:
    """The rest of this request's log lines are about this submission."""
    _state().tokens.append(REFERENCES.set((reference,)))


def start() -> None:
    """Take or make the request id and note the start time."""
    _state()


def finish(response: Response) -> Response:
    """Send the id back and log the request line (once per request).

    Also for a request that never reached `start` (refused by an earlier hook, e.g. the
    rate limit): its id is made here.
    """
    state = _state()
    response.headers[HEADER] = state.request_id
    if state.logged:
        return response
    state.logged = True
    path = secret_route(request.path) or request.path
    duration_ms = round((time.perf_counter() - state.started) * 1000, 1)
    quiet = request.blueprint in QUIET_BLUEPRINTS and response.status_code < 400
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s %s %.1f ms",
        request.method,
        path,
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )
    return response


def _on_own_pages(hook: Callable[..., Any]) -> Callable[..., Any]:
    def own_pages_only(*args: Any) -> Any:
        if request.blueprint in OWN_BLUEPRINTS:
            return hook(*args)
        return args[0] if args else None  # after_request passes the response on

    return own_pages_only


def init_app(app: Flask) -> None:
    """Called by `Intake.init_app`: request ids and lines for BL Intake's own pages only; a
    host app's pages are the host's (see `cover_every_page`)."""
    request_started.connect(_begin, app)
    app.before_request(_on_own_pages(start))
    app.after_request(_on_own_pages(finish))
    app.teardown_request(_end)
    app.logger.addFilter(SECRET_PATH_FILTER)


def cover_every_page(app: Flask) -> None:
    """The standalone app owns every page: ids and lines for all of them (404s too)."""
    app.before_request(start)
    app.after_request(finish)
