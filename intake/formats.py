"""Danish formats for what people read: times, phone numbers and whole numbers.

Pages and e-mails use them alike, as Jinja filters (FILTERS, registered by intake.extension);
Python code that writes Danish text uses the functions themselves.

- A time in running text: "4. december 2026 kl. 18.35" (`when`); in a table or list, numeric:
  "04.12.2026 kl. 18.35" (`when_in_table`). Both in Danish local time.
- A phone number in groups of two, as Danes write them: "33 76 20 40", and as a `tel:` link
  that a phone can call ("tel:+4533762040").
- A whole number with a point between thousands: "10.000".

In English (a public page or the requester's e-mail in English, intake.i18n): "4 December
2026", "4 December 2026 at 18:35" and "10,000"; phone numbers stay as Danes write them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import current_app, has_app_context
from flask_babel import get_locale
from markupsafe import Markup

from intake.timefmt import DANISH_TIME, danish_time

MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _english() -> bool:
    """Rendering in English now? (Danish outside a request, and wherever Danish is chosen.)"""
    if not has_app_context() or "babel" not in current_app.extensions:
        return False
    locale = get_locale()
    return locale is not None and locale.language == "en"


def day(moment: date) -> str:
    """The day in running text: "4. december 2026" (a datetime in Danish local time); in
    English "4 December 2026"."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(DANISH_TIME)
    if _english():
        return f"{moment.day} {ENGLISH_MONTHS[moment.month - 1]} {moment.year}"
    return f"{moment.day}. {MONTHS[moment.month - 1]} {moment.year}"


def when(moment: datetime) -> str:
    """A time in running text, Danish local time: "4. december 2026 kl. 18.35"; in English
    "4 December 2026 at 18:35"."""
    local = moment.astimezone(DANISH_TIME)
    if _english():
        return f"{day(local)} at {local:%H:%M}"
    return f"{day(local)} kl. {local:%H.%M}"


def when_in_table(moment: datetime) -> str:
    """A time in a table or list, Danish local time: "04.12.2026 kl. 18.35"."""
    return danish_time(moment)


def phone(number: str) -> str:
    """A Danish number in pairs: "33762040" → "33 76 20 40". The forms store the 8 digits; any
    other value (a routing file's "+45 …") is shown as it is."""
    if len(number) == 8 and number.isascii() and number.isdigit():
        return " ".join(number[i : i + 2] for i in range(0, 8, 2))
    return number


def tel_href(number: str) -> str:
    """The `tel:` address of a number, with Denmark's country code: "tel:+4533762040"."""
    digits = "".join(ch for ch in number if ch.isascii() and ch.isdigit())
    if len(digits) == 8:
        digits = "45" + digits
    return f"tel:+{digits}"


def phone_link(number: str) -> Markup:
    """The number as a link a phone can call: <a href="tel:+4533762040">33 76 20 40</a>."""
    return Markup('<a href="{}">{}</a>').format(tel_href(number), phone(number))


def whole_number(value: int) -> str:
    """A whole number with a point between thousands: 10000 → "10.000", -1500 → "-1.500"
    (in English "10,000")."""
    if _english():
        return f"{value:,}"
    return f"{value:,}".replace(",", ".")


# The Jinja filters, named with our prefix so a host app's own filters are left alone.
FILTERS: dict[str, Callable[..., Any]] = {
    "intake_time": when_in_table,
    "intake_when": when,
    "intake_day": day,
    "intake_phone": phone,
    "intake_phone_link": phone_link,
    "intake_number": whole_number,
}
