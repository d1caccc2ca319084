"""What a delivery try can end in, as the worker needs to know it.

    DeliveryError                 a try failed; the worker records the message
    ├── TransientDeliveryError    may work later: retried with backoff (server down, 4xx, timeout)
    └── PermanentDeliveryError    will not work by retrying: the job goes dead at once
        └── RejectedData          the receiver refused the data; its message may quote it

Any other exception from a channel is a bug; the worker logs it and treats it as transient,
so the job ends dead after its attempts rather than being lost.

A job keeps the whole message, for staff (`flask --app wsgi intake jobs`, /admin/deliveries/).
A log line shows less (`log_text`): no e-mail addresses, and of rejected data only its error
code and field names, since its message can quote the value ("data value too large: <name>").
"""

from __future__ import annotations

import re

from intake.observability.redaction import mask_emails

_CODE = re.compile(r"[A-Z][A-Z_]+")
_FIELDS = re.compile(r"\(felter: [^)]*\)")


class DeliveryError(Exception):
    """A delivery try failed."""


class TransientDeliveryError(DeliveryError):
    """The try failed for a reason that may pass (connection refused, timeout, 4xx reply).

    `retry_after`: seconds the receiver asked us to wait (Retry-After), if it said."""

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """The try failed for a reason retrying cannot mend (a rejected recipient, a bad message)."""


class RejectedData(PermanentDeliveryError):
    """The receiver (Salesforce) refused the data, e.g. "STRING_TOO_LONG: … (felter: City)".

    The job keeps the whole message for staff; a log line shows only its code and fields,
    because the message can quote the rejected value (a name)."""


def log_text(error: BaseException) -> str:
    """A try's error as a log line may show it: without personal data."""
    message = str(error) or type(error).__name__
    if isinstance(error, RejectedData):
        code = message.split(":", 1)[0].strip()
        fields = _FIELDS.search(message)
        summary = code if _CODE.fullmatch(code) else type(error).__name__
        return f"{summary}{' ' + fields.group(0) if fields else ''} (the message is on the job)"
    return mask_emails(message)
