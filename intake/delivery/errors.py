"""What a delivery try can end in, as the worker needs to know it.

    DeliveryError                 a try failed; the worker records the message
    ├── TransientDeliveryError    may work later: retried with backoff (server down, 4xx, timeout)
    └── PermanentDeliveryError    will not work by retrying: the job goes dead at once
        └── RejectedData          the receiver refused the data; its message may quote it

Any other exception from a channel is a bug; the worker logs it and treats it as transient,
so the job ends dead after its attempts rather than being lost.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """A delivery try failed."""


class TransientDeliveryError(DeliveryError):
    """The try failed for a reason that may pass (connection refused, timeout, 4xx reply)."""


class PermanentDeliveryError(DeliveryError):
    """The try failed for a reason retrying cannot mend (a rejected recipient, a bad message)."""


class RejectedData(PermanentDeliveryError):
    """The receiver (Salesforce) refused the data, e.g. "STRING_TOO_LONG: … (felter: City)".

    The job keeps the whole message for staff; a log line shows only its code and fields,
    because the message can quote the rejected value (a name)."""
