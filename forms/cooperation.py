"""The back office's record of a municipal cooperation, made by hand on a municipality's page:
the day it was established (a date input, YYYY-MM-DD, or as Danes type it, 1.12.2026) and a
note (optional)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from markupsafe import Markup
from wtforms import Field, Form, StringField, TextAreaField
from wtforms.validators import InputRequired, ValidationError
from wtforms.widgets import DateInput

from forms.filters import clean_line, clean_text
from forms.formdata import FormFieldsOnly
from forms.validators import max_length

_DANISH_DATE = re.compile(r"(\d{1,2})\s*[.\-/]\s*(\d{1,2})\s*[.\-/]\s*(\d{4})")


def parse_day(text: str) -> date | None:
    """2026-12-01 (what a date input sends) or 1.12.2026 / 1-12-2026; None if neither."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    found = _DANISH_DATE.fullmatch(text)
    if found is None:
        return None
    try:
        return date(int(found[3]), int(found[2]), int(found[1]))
    except ValueError:
        return None


def past_day(today: date) -> Callable[[Form, Field], None]:
    """A validator: a real day, not after `today` (a cooperation that exists)."""

    def check(form: Form, field: Field) -> None:
        day = parse_day(field.data or "")
        if day is None:
            raise ValidationError("Skriv datoen som dag, måned og år, fx 1.12.2026.")
        if day > today:
            raise ValidationError("Datoen kan ikke ligge efter i dag.")
        if day.year < 1970:
            raise ValidationError("Skriv en dato efter 1970.")

    return check


class IsoDateInput(DateInput):
    """A date input; a value that is not YYYY-MM-DD (typed where the browser has no date
    picker) is not put back in it, as HTML allows none: the error message says what to type."""

    def __call__(self, field: Field, **kwargs: object) -> Markup:
        try:
            date.fromisoformat(str(field.data or ""))
        except ValueError:
            kwargs["value"] = ""
        return super().__call__(field, **kwargs)


class CooperationForm(FormFieldsOnly):
    established_on = StringField(
        "Etableret den",
        widget=IsoDateInput(),
        filters=[clean_line],
        validators=[InputRequired("Skriv, hvornår kommunesamarbejdet blev etableret.")],
    )
    note = TextAreaField(
        "Note (valgfri)",
        filters=[clean_text],
        validators=[max_length(1000)],
        description="Fx hvem der deltager, eller hvor oplysningen kommer fra.",
    )

    @property
    def error_fields(self) -> list[Field]:
        """The fields with errors, in page order, for the error summary."""
        return [field for field in (self.established_on, self.note) if field.errors]

    def validate_for(self, today: date) -> bool:
        """Validate, with the date checked against `today` (Danish local date)."""
        return self.validate(extra_validators={"established_on": [past_day(today)]})

    @property
    def day(self) -> date:
        found = parse_day(self.established_on.data or "")
        if found is None:
            raise ValueError("validate_for first")
        return found
