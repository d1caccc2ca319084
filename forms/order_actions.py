"""The back office's order actions: ship (with a note), cancel (with a reason), ship a
selection (a note each), and the plain buttons that change something (only their CSRF token)."""

from __future__ import annotations

from collections.abc import Sequence

from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired

from forms.filters import clean_line, clean_text
from forms.formdata import FormFieldsOnly
from forms.validators import max_length


class ShipForm(FormFieldsOnly):
    note = StringField(
        "Note, fx pakkenummer (valgfrit)",
        filters=[clean_line],
        validators=[max_length(255)],
    )


class CancelForm(FormFieldsOnly):
    reason = TextAreaField(
        "Begrundelse",
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
