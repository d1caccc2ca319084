"""``/_emulator/``: inspection and control for tests and other processes, without a token.

* ``GET /_emulator/records``: every record, grouped by type;
* ``GET /_emulator/requests``: the API request log;
* ``POST /_emulator/reset``: forget records, added fields, the log and pending faults;
* ``POST /_emulator/faults``: ``{"fault": "expire_sessions" | "fail" | "limit_exceeded" |
  "too_many_requests" | "delay" | "clear", "n": …, "status": …, "error_code": …, "message": …,
  "seconds": …, "retry_after": …}``;
* ``POST /_emulator/leads/{id}/convert``: convert a lead as a sales user would;
* ``POST /_emulator/records/{Type}/{id}``: ``{"Status": …}`` changes a record's fields as a
  sales user would (a lead's or a task's Status; LastModifiedDate moves on);
* ``GET``/``POST /_emulator/org``: the org's settings; post any of ``{"duplicate_rule":
  "alert" | "block" | null, "maintenance": true | false, "daily_api_limit": n}``;
* ``POST /_emulator/validation-rules``: ``{"sobject", "name", "field", "message",
  "pattern"}`` adds a validation rule (no pattern: the field must be filled);
* ``POST /_emulator/clock``: ``{"advance_seconds": n}`` moves the emulator's clock on (the
  daily allowance's 24-hour window).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from crm_sync.emulator.calls import json_response, split_path
from crm_sync.emulator.errors import ApiError, error
from crm_sync.emulator.org import DuplicateRuleAction, ValidationRule

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
    spec = request.get_json(silent=True) or {}
    if request.method == "POST" and len(parts) == 3 and parts[0] == "records":
        return _edit(emulator, parts[1], parts[2], spec)
    if parts == ["org"] and request.method in ("GET", "POST"):
        if request.method == "POST":
            try:
                _set_org(emulator, spec)
            except (ValueError, TypeError) as exc:
                return json_response(400, [error("INVALID_INPUT", str(exc))])
        return json_response(200, _org(emulator))
    if request.method == "POST" and parts == ["validation-rules"]:
        try:
            rule = ValidationRule(
                str(spec["sobject"]),
                str(spec["name"]),
                str(spec["field"]),
                str(spec["message"]),
                spec.get("pattern"),
            )
        except KeyError as missing:
            return json_response(400, [error("INVALID_INPUT", f"missing {missing}")])
        emulator.org.validation_rules.append(rule)
        return json_response(204, None)
    if request.method == "POST" and parts == ["clock"]:
        emulator.advance_clock(float(spec.get("advance_seconds", 0)))
        return json_response(204, None)
    return json_response(404, [error("NOT_FOUND", "Not found")])


def _edit(
    emulator: SalesforceEmulator, sobject: str, record_id: str, fields: Mapping[str, Any]
) -> Response:
    if not isinstance(fields, Mapping) or not fields:
        return json_response(400, [error("INVALID_INPUT", "give the fields to change")])
    try:
        emulator.edit_record(sobject, record_id, fields)
    except KeyError:
        return json_response(404, [error("NOT_FOUND", f"no such {sobject}")])
    except ApiError as exc:
        return json_response(exc.status, exc.errors)
    return json_response(204, None)


def _org(emulator: SalesforceEmulator) -> dict[str, Any]:
    org = emulator.org
    return {
        "duplicate_rule": org.duplicate_rule,
        "maintenance": org.maintenance,
        "daily_api_limit": emulator.daily_api_limit,
        "api_usage": emulator.api_usage(),
        "jwt_audiences": list(org.jwt_audiences),
        "validation_rules": [vars(rule) for rule in org.validation_rules],
    }


def _set_org(emulator: SalesforceEmulator, spec: Mapping[str, Any]) -> None:
    if "duplicate_rule" in spec:
        rule = spec["duplicate_rule"]
        emulator.org.duplicate_rule = DuplicateRuleAction(rule) if rule else None
    if "maintenance" in spec:
        emulator.org.maintenance = bool(spec["maintenance"])
    if "daily_api_limit" in spec:
        emulator.daily_api_limit = int(spec["daily_api_limit"])


def _fault_from_json(emulator: SalesforceEmulator, spec: Mapping[str, Any]) -> Response:
    """``{"fault": "expire_sessions" | "fail" | "limit_exceeded" | "too_many_requests" |
    "delay", …}``."""
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
    elif kind == "too_many_requests":
        emulator.too_many_requests(n, int(spec.get("retry_after", 30)))
    elif kind == "delay":
        emulator.delay_next(float(spec.get("seconds", 1.0)), n)
    elif kind == "clear":
        emulator.clear_faults()
    else:
        return json_response(400, [error("INVALID_INPUT", f"unknown fault {kind!r}")])
    return json_response(204, None)
