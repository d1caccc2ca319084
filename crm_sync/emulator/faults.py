"""Fault injection: errors and late answers queued for the next API requests.

``fail_next`` answers the next requests with an error without doing the work (503
``SERVER_UNAVAILABLE``, 500 ``UNKNOWN_EXCEPTION``, 403 ``REQUEST_LIMIT_EXCEEDED``, …);
``too_many_requests`` answers 429 in plain text with ``Retry-After``, as a gateway in front of
an org does when it throttles; ``delay_next`` lets the work happen and holds the answer back,
as a slow Salesforce does after a client has timed out. Expired sessions are the token
endpoint's (oauth.py); the daily allowance and maintenance are the org's (api.py, org.py).

Not thread-safe on its own: the emulator holds its lock around every use.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from crm_sync.emulator.calls import Reply
from crm_sync.emulator.errors import error

__all__ = ["Faults"]


@dataclass(frozen=True)
class _Fault:
    status: int
    error_code: str
    message: str
    retry_after: int | None = None  # seconds; a plain-text answer with Retry-After


class Faults:
    """What the next API requests get instead of (or after) their answer."""

    def __init__(self) -> None:
        self._failures: deque[_Fault] = deque()
        self._delays: deque[float] = deque()

    def fail_next(self, n: int, status: int, error_code: str, message: str) -> None:
        self._failures.extend(_Fault(status, error_code, message) for _ in range(n))

    def too_many_requests(self, n: int, retry_after: int) -> None:
        self._failures.extend(_Fault(429, "", "Too Many Requests", retry_after) for _ in range(n))

    def delay_next(self, seconds: float, n: int) -> None:
        self._delays.extend(seconds for _ in range(n))

    def clear(self) -> None:
        self._failures.clear()
        self._delays.clear()

    def next_failure(self) -> Reply | None:
        """The error the current request gets instead of its answer, if one is queued."""
        if not self._failures:
            return None
        fault = self._failures.popleft()
        if fault.retry_after is not None:
            headers = {"Retry-After": str(fault.retry_after)}
            return Reply(fault.status, headers=headers, text=fault.message + "\n")
        return Reply(fault.status, [error(fault.error_code, fault.message)])

    def next_delay(self) -> float:
        """How many seconds the current request's answer waits (0 for none)."""
        return self._delays.popleft() if self._delays else 0.0
