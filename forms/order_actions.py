"""The back office's order actions: ship (with a note), cancel (with a reason), and the plain
buttons that change something (only their CSRF token)."""

from __future__ import annotations

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
