"""Who a submission's deliveries go to, when the routing may have changed since it came in."""

from __future__ import annotations

from intake.delivery.errors import PermanentDeliveryError
from intake.models import Submission
from intake.routing.model import Consultant, Routing


def consultant_for(submission: Submission, routing: Routing) -> Consultant:
    """The consultant the submission was routed to; if the routing has since dropped them,
    whoever covers the submission's municipality now. Neither: the job cannot be delivered."""
    consultant = routing.consultants.get(submission.consultant_key)
    if consultant is not None:
        return consultant
    try:
        return routing.route(submission.municipality_code).consultant
    except KeyError:
        raise PermanentDeliveryError(
            f"Ingen konsulent i routingen for {submission.consultant_key!r} eller kommune "
            f"{submission.municipality_code}"
        ) from None
