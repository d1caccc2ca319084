"""When to try a failed delivery again: a small, explainable decision (no I/O).

A channel may bring its own policy (`Channel.retry_policy`); the worker's default comes from
INTAKE_RETRY_BASE_SECONDS, INTAKE_RETRY_MAX_SECONDS and INTAKE_MAX_ATTEMPTS.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed job again: exponential backoff with jitter, then (maybe) give up.

    After the n-th failed try the wait is drawn between half and all of
    `min(max_seconds, base_seconds * 2 ** (n - 1))` ("equal jitter", so workers that failed
    together do not all come back together). With base 30 s and max 3600 s: 15–30 s after the
    first failure, 30–60 s after the second, 60–120 s after the third, ... and never more than
    an hour. After `max_attempts` tries the job is dead; with `max_attempts` None it never
    is: a transient fault is waited out however long it lasts (Salesforce's: its daily
    allowance, a maintenance window).

    `retry_after` (seconds, from a 429's or 503's Retry-After) puts the next try no sooner.
    """

    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    max_attempts: int | None = 8

    def next_attempt(
        self,
        attempts: int,
        now: datetime,
        rand: Callable[[], float] = random.random,
        retry_after: float | None = None,
    ) -> datetime | None:
        """The time of the next try after `attempts` tries, or None: give up."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return None
        doublings = min(max(attempts - 1, 0), 60)  # beyond that the cap holds anyway
        ceiling = min(self.max_seconds, self.base_seconds * 2**doublings)
        wait = ceiling / 2 + rand() * ceiling / 2
        return now + timedelta(seconds=max(wait, retry_after or 0.0))
