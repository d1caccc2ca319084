"""``/services/data/``: the REST API's front door and its router.

Every call is logged (``RequestLog``; a Composite call is one entry, tokens are cut to their
last six characters), needs a token from the token endpoint (401 ``INVALID_SESSION_ID``),
may meet an injected fault, and is answered with ``Sforce-Limit-Info: api-usage=N/limit``.
N counts the API requests of the last 24 hours, a rolling window as the org's allowance is;
once N reaches the daily limit every request is refused with 403 ``REQUEST_LIMIT_EXCEEDED``
(and not counted) until older requests leave the window (``advance_clock`` moves the
emulator's clock on). The router sends ``vNN.N/…`` to its resource: ``sobjects/``,
``query/``/``queryAll/`` (the latter also finds deleted records), ``composite/``,
``composite/sobjects`` and ``limits/``. Composite subrequests come back through the same
router (``dispatch``), so they get a request's checks.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from crm_sync.emulator.calls import Call, Reply, json_response, split_path
from crm_sync.emulator.composite import Composite
from crm_sync.emulator.errors import ApiError, error, not_found
from crm_sync.emulator.faults import Faults
from crm_sync.emulator.oauth import OAuth
from crm_sync.emulator.query import Cursors, more, run_query
from crm_sync.emulator.records import RecordStore
from crm_sync.emulator.sobject_collections import Collections
from crm_sync.emulator.sobjects import SObjects

__all__ = ["RequestLog", "RestApi"]

_VERSION_RE = re.compile(r"^v(\d{2,3}\.\d)$")
DAY_SECONDS = 24 * 3600
LIMIT_MESSAGE = "TotalRequests Limit exceeded."


@dataclass
class RequestLog:
    """One ``/services/data/`` call as received (a Composite call is one entry)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.time)
    counted: bool = True  # against the daily allowance (a request it refused is not)


class ApiSettings(Protocol):
    """Read on every request (``SalesforceEmulator`` is one)."""

    api_version: str
    daily_api_limit: int


class RestApi:
    """Answers ``/services/data/`` from ``store``; holds ``lock`` while it does the work."""

    def __init__(
        self,
        settings: ApiSettings,
        store: RecordStore,
        oauth: OAuth,
        faults: Faults,
        *,
        lock: threading.Lock,
        stopping: threading.Event,
    ) -> None:
        self.settings = settings
        self.requests: list[RequestLog] = []
        self._store = store
        self._oauth = oauth
        self._faults = faults
        self._lock = lock
        self._stopping = stopping  # wakes delayed answers when the emulator stops
        self._sobjects = SObjects(store)
        self._composite = Composite(store, self.dispatch)
        self._collections = Collections(store)
        self.cursors = Cursors()  # query locators of results not read to the end
        self._window: deque[float] = deque()  # when the counted requests of the window came
        self.clock_offset = 0.0  # seconds the emulator's clock is ahead (advance_clock)

    def forget(self) -> None:
        """Forget the request log and the allowance's window."""
        self.requests.clear()
        self._window.clear()
        self.cursors.clear()

    def usage(self) -> int:
        """API requests counted in the last 24 hours, by the emulator's clock."""
        now = time.time() + self.clock_offset
        while self._window and self._window[0] <= now - DAY_SECONDS:
            self._window.popleft()
        return len(self._window)

    def handle(self, request: Request, raw_path: str, raw_query: str) -> Response:
        """Answer one request to ``raw_path`` (``/services/data/…``, still percent-encoded)."""
        parts = split_path(raw_path)[2:]  # after services/data
        if not parts:
            versions = [
                {
                    "label": "Emulator",
                    "url": f"/services/data/v{self.settings.api_version}",
                    "version": self.settings.api_version,
                }
            ]
            return json_response(200, versions)
        body_text = request.get_data(as_text=True)
        try:
            body: Any = json.loads(body_text) if body_text.strip() else None
            body_error = None
        except ValueError as exc:
            body, body_error = body_text, exc
        headers = {k: v for k, v in request.headers.items()}
        logged_headers = dict(headers)
        if "Authorization" in logged_headers:
            scheme, _, token = logged_headers["Authorization"].partition(" ")
            logged_headers["Authorization"] = f"{scheme} …{token[-6:]}"
        entry = RequestLog(request.method, raw_path, raw_query, logged_headers, body)

        with self._lock:
            self.requests.append(entry)
            limit = self.settings.daily_api_limit
            reply: Reply | None
            if not self._oauth.is_valid(headers.get("Authorization", "")):
                reply = Reply(401, [error("INVALID_SESSION_ID", "Session expired or invalid")])
            elif self.usage() >= limit:
                entry.counted = False
                reply = Reply(403, [error("REQUEST_LIMIT_EXCEEDED", LIMIT_MESSAGE)])
            else:
                self._window.append(time.time() + self.clock_offset)
                reply = self._faults.next_failure()
            if reply is None and body_error is not None:
                reply = Reply(400, [error("JSON_PARSER_ERROR", f"Invalid JSON: {body_error}")])
            if reply is None:
                query = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
                reply = self.dispatch(request.method, parts, query, body, headers, top=True)
            entry.status = reply.status
            delay = self._faults.next_delay()
            usage = f"api-usage={self.usage()}/{limit}"
        if delay:
            self._stopping.wait(delay)
        headers = {**reply.headers, "Sforce-Limit-Info": usage}
        if reply.text is not None:
            return Response(reply.text, reply.status, headers, content_type="text/plain")
        return json_response(reply.status, reply.body, headers)

    def dispatch(
        self,
        method: str,
        parts: list[str],
        query: Mapping[str, str],
        body: Any,
        headers: Mapping[str, str],
        *,
        top: bool = False,
    ) -> Reply:
        """Route one API call (also a Composite subrequest); ``parts`` start at ``vNN.N``."""
        try:
            match = _VERSION_RE.match(parts[0]) if parts else None
            if match is None:
                raise not_found()
            call = Call(method, match.group(1), query, body, headers, top)
            return self._route(call, [p for p in parts[1:] if p != ""])
        except ApiError as exc:
            return Reply(exc.status, exc.errors)

    def _route(self, call: Call, rest: list[str]) -> Reply:
        head = rest[0] if rest else ""
        if not rest:
            call.allow("GET")
            names = ("sobjects", "query", "queryAll", "composite", "limits")
            return Reply(200, {n: f"/services/data/v{call.version}/{n}" for n in names})
        if head == "limits" and len(rest) == 1:
            call.allow("GET")
            limit = self.settings.daily_api_limit
            remaining = max(0, limit - self.usage())
            return Reply(200, {"DailyApiRequests": {"Max": limit, "Remaining": remaining}})
        if head in ("query", "queryAll") and len(rest) == 1:
            call.allow("GET")
            return run_query(
                self._store,
                self.cursors,
                call.version,
                call.query.get("q", ""),
                include_deleted=head == "queryAll",
                headers=call.headers,
            )
        if head in ("query", "queryAll") and len(rest) == 2:
            call.allow("GET")
            return more(self.cursors, call.version, rest[1])
        if head == "composite" and len(rest) == 1:
            call.allow("POST")
            if not call.top:
                raise ApiError(400, [error("INVALID_API_INPUT", "Composite can't be nested")])
            return self._composite.handle(call.body, call.headers)
        if head == "composite" and len(rest) >= 2 and rest[1] == "sobjects":
            return self._collections.handle(call, rest[2:])
        if head == "sobjects":
            return self._sobjects.handle(call, rest[1:])
        raise not_found()
