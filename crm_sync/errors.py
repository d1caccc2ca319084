"""What can go wrong talking to Salesforce, as the worker needs to know it.

    CrmError
    ├── CrmUnavailable   try again later: network errors, timeouts, 429, 5xx, the daily
    │                    allowance spent (REQUEST_LIMIT_EXCEEDED), read-only maintenance
    │                    (INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE), a locked row,
    │                    a session that stays expired, a login Salesforce refuses for now;
    │                    `retry_after`: the seconds Salesforce asked us to wait, if it said
    └── CrmRejected      Salesforce said no to the data: STRING_TOO_LONG, REQUIRED_FIELD_MISSING,
                         INVALID_FIELD, FIELD_CUSTOM_VALIDATION_EXCEPTION (a validation rule),
                         two leads with one external id, …
                         Retrying the same request cannot help; the job goes dead with
                         Salesforce's message, for staff to see.

A duplicate rule (DUPLICATES_DETECTED), a converted lead (CANNOT_UPDATE_CONVERTED_LEAD) and
an existing campaign membership (DUPLICATE_VALUE) are not errors to the caller: leads.py
handles them. simple-salesforce's and requests' exceptions are translated in client.py only.
What a caller does with them (BL Intake's worker: retry, or give up) is the caller's business.
"""

from __future__ import annotations

# Error codes that say "not now" rather than "not this": retried.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "REQUEST_LIMIT_EXCEEDED",  # the org's rolling 24-hour allowance, or concurrency
        "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE",  # read-only mode, for hours
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
        "INVALID_SESSION_ID",
        "PROCESSING_HALTED",  # rolled back because another record of the request failed
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    }
)


class CrmError(Exception):
    """A Salesforce request failed."""


class CrmUnavailable(CrmError):
    """Salesforce could not be reached or asked us to wait: the same request may work later."""

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds (Retry-After), when Salesforce said


class CrmRejected(CrmError):
    """Salesforce rejected the data: the same request will be rejected again."""


def error_for(code: str, message: str, retry_after: float | None = None) -> CrmError:
    """The error for one Salesforce error code and message."""
    text = f"{code}: {message}" if code else message
    if code in TRANSIENT_ERROR_CODES:
        return CrmUnavailable(text, retry_after)
    return CrmRejected(text)
