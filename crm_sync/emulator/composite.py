"""``composite/``: up to 25 subrequests in one API request, answered in order.

A subrequest's ``url`` and ``body`` may refer to earlier answers with ``@{ref.field}`` (also
``@{ref.list[0].field}``). With ``allOrNone`` the first failure undoes all the work and every
other subrequest is answered 400 ``PROCESSING_HALTED``. Salesforce refuses more than 25
subrequests, more than 5 queries or sObject Collections among them, duplicate
``referenceId`` s and subrequest headers that set Accept, Authorization or Content-Type.
The whole call counts as one API request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from crm_sync.emulator.calls import Reply, split_path
from crm_sync.emulator.errors import ApiError, error
from crm_sync.emulator.records import RecordStore

__all__ = ["Composite", "Dispatch"]

MAX_COMPOSITE = 25
MAX_COMPOSITE_QUERIES_AND_COLLECTIONS = 5
FORBIDDEN_SUBREQUEST_HEADERS = {"accept", "authorization", "content-type"}
ROLLED_BACK_MESSAGE = (
    "The transaction was rolled back since another operation in the same transaction failed."
)
_REFERENCE_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")

# How a subrequest is routed: (method, path parts from vNN.N on, query, body, headers) -> Reply.
Dispatch = Callable[[str, list[str], Mapping[str, str], Any, Mapping[str, str]], Reply]


class Composite:
    """Runs Composite requests against ``store``, each subrequest through ``dispatch``."""

    def __init__(self, store: RecordStore, dispatch: Dispatch) -> None:
        self.store = store
        self.dispatch = dispatch

    def handle(self, body: Any, headers: Mapping[str, str]) -> Reply:
        """The ``compositeResponse``: one answer per subrequest, in order."""
        subrequests = _checked_subrequests(body)
        all_or_none = bool(body.get("allOrNone", False))
        snapshot = self.store.snapshot() if all_or_none else None
        bodies: dict[str, Any] = {}  # referenceId -> answer, for @{ref.field}
        responses: list[dict[str, Any]] = []
        for sub in subrequests:
            reply = self._subrequest(sub, bodies, headers)
            if reply.status < 400:
                bodies[sub["referenceId"]] = reply.body
            responses.append(_subresponse(sub, reply))
            if reply.status >= 400 and snapshot is not None:
                # allOrNone: undo everything; every other subrequest is "halted".
                self.store.restore(snapshot)
                halted = Reply(400, [error("PROCESSING_HALTED", ROLLED_BACK_MESSAGE)])
                responses = [_subresponse(s, reply if s is sub else halted) for s in subrequests]
                break
        return Reply(200, {"compositeResponse": responses})

    def _subrequest(
        self, sub: dict[str, Any], bodies: Mapping[str, Any], headers: Mapping[str, str]
    ) -> Reply:
        try:
            url = _resolve_references(sub["url"], bodies)
            body = _resolve_references(sub.get("body"), bodies)
        except _UnresolvedReference as exc:
            return Reply(400, [error("PROCESSING_HALTED", str(exc))])
        sub_headers = {k.casefold(): v for k, v in headers.items()}
        sub_headers.update((k.casefold(), v) for k, v in (sub.get("httpHeaders") or {}).items())
        raw_path, _, raw_query = str(url).partition("?")
        parts = split_path(raw_path)
        if parts[:2] != ["services", "data"]:
            return Reply(404, [error("NOT_FOUND", "The requested resource does not exist")])
        query = {k: v[-1] for k, v in parse_qs(raw_query).items()}
        method = sub["method"].upper()
        return self.dispatch(method, parts[2:], query, body, sub_headers)


def _checked_subrequests(body: Any) -> list[dict[str, Any]]:
    """The Composite subrequests, or ApiError(400) for a request Salesforce would refuse."""
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise ApiError(400, [error("JSON_PARSER_ERROR", "compositeRequest is required")])
    if len(subrequests) > MAX_COMPOSITE:
        message = f"Composite takes at most {MAX_COMPOSITE} subrequests"
        raise ApiError(400, [error("LIMIT_EXCEEDED", message)])
    seen: set[str] = set()
    heavy = 0
    for sub in subrequests:
        if not (
            isinstance(sub, dict)
            and isinstance(sub.get("method"), str)
            and isinstance(sub.get("url"), str)
            and re.fullmatch(r"[A-Za-z0-9_]+", str(sub.get("referenceId", "")))
        ):
            message = "Each subrequest needs method, url and a referenceId of letters, digits, _"
            raise ApiError(400, [error("JSON_PARSER_ERROR", message)])
        if sub["referenceId"] in seen:
            message = f"Duplicate referenceId provided in the request: {sub['referenceId']}"
            raise ApiError(400, [error("INVALID_INPUT", message)])
        seen.add(sub["referenceId"])
        if any(k.lower() in FORBIDDEN_SUBREQUEST_HEADERS for k in sub.get("httpHeaders") or {}):
            message = "Subrequests may not set Accept, Authorization or Content-Type"
            raise ApiError(400, [error("INVALID_INPUT", message)])
        path = sub["url"].partition("?")[0]
        heavy += bool(re.search(r"/(query|queryAll)/?$|/composite/sobjects", path))
    if heavy > MAX_COMPOSITE_QUERIES_AND_COLLECTIONS:
        message = "Composite takes at most 5 query or sObject Collections subrequests"
        raise ApiError(400, [error("LIMIT_EXCEEDED", message)])
    return subrequests


def _subresponse(sub: Mapping[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "body": reply.body,
        "httpHeaders": reply.headers,
        "httpStatusCode": reply.status,
        "referenceId": sub["referenceId"],
    }


class _UnresolvedReference(Exception):
    pass


def _resolve_references(value: Any, bodies: Mapping[str, Any]) -> Any:
    """Replace ``@{ref.path}`` in strings (recursively) with values from earlier answers."""
    if isinstance(value, dict):
        return {k: _resolve_references(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_references(v, bodies) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value

    def lookup(match: re.Match[str]) -> Any:
        reference_id, path = match.group(1), match.group(2)
        expression = match.group(0)[2:-1]
        if reference_id not in bodies:
            raise _UnresolvedReference(
                f"Invalid reference specified. No value for {expression} found in "
                f"{reference_id}. Provided referenceId ('{reference_id}') must start with a "
                "letter or a number, and it can contain only letters, numbers and underscores "
                "('_')."
            )
        current = bodies[reference_id]
        for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            try:
                current = current[step[0]] if step[0] else current[int(step[1])]
            except (KeyError, IndexError, TypeError):
                raise _UnresolvedReference(
                    f"Invalid reference specified. No value for {expression} found in "
                    f"{reference_id}."
                ) from None
        return current

    whole = _REFERENCE_RE.fullmatch(value)
    if whole is not None:
        return lookup(whole)
    return _REFERENCE_RE.sub(lambda m: str(lookup(m)), value)
