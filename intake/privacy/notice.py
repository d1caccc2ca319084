"""What the privacy page (`/privatliv/`, templates/intake/privatliv.html) says that depends on
the settings: how long submissions and held posts are kept, and whom to write to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import ngettext

DAYS_PER_YEAR = 365


def retention_phrase(days: int) -> str:
    """How long we keep a submission, as a phrase in the page's language: "2 år" for 730
    days, "1 år" for 365, otherwise in days ("90 dage", "1 dag"); in English "2 years", "90
    days". 730 days is what BL means by two years; a year is counted as 365 days, as the
    purge does."""
    if days % DAYS_PER_YEAR == 0:
        return ngettext("%(num)d år", "%(num)d år", days // DAYS_PER_YEAR)
    return ngettext("%(num)d dag", "%(num)d dage", days)


def notice_context(config: Mapping[str, Any]) -> dict[str, Any]:
    """The privacy template's variables from the app's settings."""
    return {
        "retention": retention_phrase(int(config["INTAKE_RETENTION_DAYS"])),
        "held": retention_phrase(int(config["INTAKE_HELD_DAYS"])),
        "contact_email": config["INTAKE_PRIVACY_CONTACT_EMAIL"],
    }
