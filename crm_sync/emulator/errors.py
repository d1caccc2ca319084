"""Error answers as Salesforce gives them: ``ApiError`` and the entries of its error list.

A REST error body is a list of ``{"message", "errorCode", "fields"}``; ``ApiError`` carries
that list and the HTTP status, and the API router turns it into the answer. Collections and
Composite results name the code ``statusCode`` instead (``as_record_errors``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "as_record_errors", "error", "not_found"]


class ApiError(Exception):
    """An error answer: HTTP status and Salesforce's error list."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else str(status))
        self.status = status
        self.errors = errors


def error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    """One entry of Salesforce's error list."""
    entry: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return entry


def not_found() -> ApiError:
    return ApiError(404, [error("NOT_FOUND", "The requested resource does not exist")])


def as_record_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Collections and SaveResults use ``statusCode`` where REST errors use ``errorCode`` (and
    a duplicate rule's ``duplicateResult`` where REST says ``duplicateResut``)."""
    records = []
    for e in errors:
        entry = {
            "statusCode": e["errorCode"],
            "message": e["message"],
            "fields": e.get("fields", []),
        }
        if "duplicateResut" in e:
            entry["duplicateResult"] = e["duplicateResut"]
        records.append(entry)
    return records
