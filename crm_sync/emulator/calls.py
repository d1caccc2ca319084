"""One API call and its answer: the call being routed (``Call``), the answer (``Reply``), and
the small readings of paths, headers and bodies that every resource shares.

A ``Call`` is a top-level request or a Composite subrequest (``top=False``): the resources
cannot tell them apart, which is why a subrequest gets exactly a request's checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Response

from crm_sync.emulator.errors import ApiError, error

__all__ = ["Call", "Reply", "body_fields", "header", "json_response", "split_path", "truthy"]


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # a plain-text answer instead of JSON (what a proxy or gateway says)


@dataclass(frozen=True)
class Call:
    """One API call being routed: a request, or a Composite subrequest (``top=False``)."""

    method: str
    version: str
    query: Mapping[str, str]
    body: Any
    headers: Mapping[str, str]
    top: bool = True

    def allow(self, *methods: str) -> None:
        if self.method not in methods:
            message = f"HTTP Method '{self.method}' not allowed. Allowed are {','.join(methods)}"
            raise ApiError(405, [error("METHOD_NOT_ALLOWED", message)])

    def path(self, sobject: str, record_id: str = "") -> str:
        return f"/services/data/v{self.version}/sobjects/{sobject}/{record_id}"


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    if status == 204 or body is None:
        return Response(status=status, headers=dict(headers or {}))
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json;charset=UTF-8",
    )


def split_path(raw_path: str) -> list[str]:
    """Path segments, each percent-decoded on its own (so ``%2F`` stays inside a segment)."""
    return [unquote(part) for part in raw_path.strip("/").split("/")] if raw_path.strip("/") else []


def truthy(value: str | None) -> bool:
    return (value or "").lower() == "true"


def header(headers: Mapping[str, str], name: str) -> str | None:
    folded = name.casefold()
    return next((v for k, v in headers.items() if k.casefold() == folded), None)


def body_fields(body: Any) -> dict[str, Any]:
    """An sObject body's fields (without ``attributes``), or JSON_PARSER_ERROR."""
    if body is None:
        message = "The HTTP entity body is required, but this request has no entity body."
        raise ApiError(400, [error("JSON_PARSER_ERROR", message)])
    if not isinstance(body, dict):
        message = "Cannot deserialize instance of an sObject from a JSON value that is not {}"
        raise ApiError(400, [error("JSON_PARSER_ERROR", message)])
    return {k: v for k, v in body.items() if k != "attributes"}
