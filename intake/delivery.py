"""The contract between the worker and its channels (e-mail now, Salesforce next).

    DeliveryError                 a try failed; the worker records the message
    ├── TransientDeliveryError    may work later: retried with backoff (server down, 4xx, timeout)
    └── PermanentDeliveryError    will not work by retrying: the job goes dead at once

Any other exception from a channel is a bug; the worker logs it and treats it as transient,
so the job ends dead after its attempts rather than being lost.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from intake.models import DeliveryJob, JobKind


class DeliveryError(Exception):
    """A delivery try failed."""


class TransientDeliveryError(DeliveryError):
    """The try failed for a reason that may pass (connection refused, timeout, 4xx reply)."""


class PermanentDeliveryError(DeliveryError):
    """The try failed for a reason retrying cannot mend (a rejected recipient, a bad message)."""


class Channel(Protocol):
    """Delivers one kind of job; returns the external id (Message-ID, Salesforce id)."""

    kind: JobKind

    def deliver(self, job: DeliveryJob, session: Session) -> str | None: ...
