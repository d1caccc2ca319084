"""``/_emulator/``: inspection and control for tests and other processes, without a token.

* ``GET /_emulator/records``: every record, grouped by type;
* ``GET /_emulator/requests``: the API request log;
* ``POST /_emulator/reset``: forget records, added fields, the log and pending faults;
* ``POST /_emulator/faults``: ``{"fault": "expire_sessions" | "fail" | "limit_exceeded" |
  "delay", "n": …, "status": …, "error_code": …, "message": …, "seconds": …}``;
* ``POST /_emulator/leads/{id}/convert``: convert a lead as a sales user would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from crm_sync.emulator.calls import json_response, split_path
from crm_sync.emulator.errors import error

if TYPE_CHECKING:
    from crm_sync.emulator.server import SalesforceEmulator

__all__ = ["control_page"]


def control_page(emulator: SalesforceEmulator, request: Request, raw_path: str) -> Response:
    """Answer a request to ``/_emulator/…`` through the emulator's public methods."""
    parts = split_path(raw_path)[1:]
    if request.method == "GET" and parts == ["records"]:
        return json_response(200, emulator.records_json())
    if request.method == "GET" and parts == ["requests"]:
        return json_response(200, emulator.requests_json())
    if request.method == "POST" and parts == ["reset"]:
        emulator.reset()
        return json_response(204, None)
    if request.method == "POST" and parts == ["faults"]:
        return _fault_from_json(emulator, request.get_json(silent=True) or {})
    if request.method == "POST" and len(parts) == 3 and parts[::2] == ["leads", "convert"]:
        try:
            return json_response(200, {"contactId": emulator.convert_lead(parts[1])})
        except KeyError:
            return json_response(404, [error("NOT_FOUND", "no such lead")])
    return json_response(404, [error("NOT_FOUND", "Not found")])


def _fault_from_json(emulator: SalesforceEmulator, spec: Mapping[str, Any]) -> Response:
    """``{"fault": "expire_sessions" | "fail" | "limit_exceeded" | "delay", …}``."""
    kind, n = spec.get("fault"), int(spec.get("n", 1))
    if kind == "expire_sessions":
        emulator.expire_sessions()
    elif kind == "fail":
        emulator.fail_next(
            n,
            int(spec.get("status", 503)),
            str(spec.get("error_code", "SERVER_UNAVAILABLE")),
            str(spec.get("message", "Server temporarily unavailable; please try again later.")),
        )
    elif kind == "limit_exceeded":
        emulator.limit_exceeded(n)
    elif kind == "delay":
        emulator.delay_next(float(spec.get("seconds", 1.0)), n)
    else:
        return json_response(400, [error("INVALID_INPUT", f"unknown fault {kind!r}")])
    return json_response(204, None)
