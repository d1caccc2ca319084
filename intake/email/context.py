"""What the e-mails and the receipt page say about a submission beyond its own fields: the
municipality by its official name, who answers a reply, what happens next and when, and the
link to a shipped parcel. One place, so the page and the e-mails never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from intake.models import Submission, SubmissionKind
from intake.reference_data import official_municipality_name


def tracking_url(template: str, parcel: str) -> str | None:
    """The carrier's tracking page for a parcel: INTAKE_TRACKING_URL with `{parcel}` replaced
    (URL-encoded); None without a parcel number."""
    if not parcel:
        return None
    return template.replace("{parcel}", quote(parcel, safe=""))


def about(submission: Submission, config: Mapping[str, Any]) -> dict[str, Any]:
    """The template variables the receipt page and every e-mail share."""
    return {
        "is_order": submission.kind is SubmissionKind.PAMPHLET_ORDER,
        # "Københavns Kommune", "Bornholms Regionskommune": in sentences, never the short name.
        "municipality": official_municipality_name(
            submission.municipality_code, submission.municipality_name
        ),
        # Working days within which the pamphlets are normally sent, and the consultant calls
        # (their follow-up task in Salesforce is due then).
        "shipping_days": int(config["INTAKE_PAMPHLET_SHIPPING_DAYS"]),
        "contact_days": int(config["SALESFORCE_TASK_DUE_WORKING_DAYS"]),
        "tracking_url": tracking_url(config["INTAKE_TRACKING_URL"], submission.parcel_number),
    }
