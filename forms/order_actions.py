"""The back office's order actions: ship (with a parcel number and a note), cancel (with a
reason, which the orderer is sent), ship a selection (a note each), and the plain buttons that
change something (only their CSRF token)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from wtforms import Field, Form, StringField, TextAreaField
from wtforms.validators import InputRequired, ValidationError

from forms.filters import clean_line, clean_text
from forms.formdata import FormFieldsOnly
from forms.validators import max_length


def parcel_number(form: Form, field: Field) -> None:
    """A carrier's parcel number: letters and digits ("00370712345678901234",
    "RR123456789DK"); the spaces people copy it with are dropped."""
    if not field.data:
        return
    compact = re.sub(r"[\s-]", "", field.data).upper()
    if not re.fullmatch(r"[A-Z0-9]{6,40}", compact):
        raise ValidationError("Skriv pakkenummeret med bogstaver og tal, fx 00370712345678901234.")
    field.data = compact


class ShipForm(FormFieldsOnly):
    parcel = StringField(
        "Pakkenummer (valgfrit)",
        filters=[clean_line],
        validators=[max_length(60), parcel_number],
        description="Bestilleren får et link til at følge pakken.",
    )
    note = StringField(
        "Besked til bestilleren (valgfrit)",
        filters=[clean_line],
        validators=[max_length(255)],
    )


class CancelForm(FormFieldsOnly):
    reason = TextAreaField(
        "Begrundelse (sendes til bestilleren)",
        filters=[clean_text],
        validators=[
            InputRequired("Skriv, hvorfor ordren annulleres."),
            max_length(1000),
        ],
    )


class ActionForm(FormFieldsOnly):
    """A button that changes something: only its CSRF token."""


class ShipSelectionForm(FormFieldsOnly):
    """Shipping several orders at once: one optional note per order (made by
    `ship_selection_form`, since the orders are those the office selected)."""

    def note_for(self, reference: str) -> str:
        return str(self[note_field(reference)].data or "")


def note_field(reference: str) -> str:
    """The name of an order's note field, e.g. note-PJ-2026-00042."""
    return f"note-{reference}"


def ship_selection_form(references: Sequence[str]) -> type[ShipSelectionForm]:
    """A form class with a note field for each of these orders, in this order."""

    class Selection(ShipSelectionForm):
        pass

    for reference in references:
        setattr(
            Selection,
            note_field(reference),
            StringField(
                f"Note til {reference}, fx pakkenummer (valgfrit)",
                filters=[clean_line],
                validators=[max_length(255)],
            ),
        )
    return Selection
