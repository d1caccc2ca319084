"""What can go wrong talking to Salesforce, as the worker needs to know it.

    CrmError
    ├── CrmUnavailable   try again later: network errors, timeouts, 5xx, REQUEST_LIMIT_EXCEEDED,
    │                    a session that stays expired, a login Salesforce refuses for now
    └── CrmRejected      Salesforce said no to the data: STRING_TOO_LONG, REQUIRED_FIELD_MISSING,
                         INVALID_FIELD, INVALID_CROSS_REFERENCE_KEY, DUPLICATES_DETECTED, …
                         Retrying the same request cannot help; the job goes dead with
                         Salesforce's message, for staff to see.

simple-salesforce's and requests' exceptions are translated in client.py only. What a caller
does with them (BL Intake's worker: retry, or give up) is the caller's business.
"""

from __future__ import annotations

# Error codes that say "not now" rather than "not this": retried with backoff.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "REQUEST_LIMIT_EXCEEDED",
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


class CrmRejected(CrmError):
    """Salesforce rejected the data: the same request will be rejected again."""


def error_for(code: str, message: str) -> CrmError:
    """The error for one Salesforce error code and message."""
    text = f"{code}: {message}" if code else message
    return CrmUnavailable(text) if code in TRANSIENT_ERROR_CODES else CrmRejected(text)
