"""The back office's form to send a request on to another consultant (/admin/requests/<ref>)."""

from __future__ import annotations

from typing import Any

from wtforms import Field, SelectField, TextAreaField
from wtforms.validators import StopValidation

from forms.contact import select_choices
from forms.filters import clean_text
from forms.formdata import FormFieldsOnly
from forms.validators import max_length


class ForwardForm(FormFieldsOnly):
    consultant = SelectField("Send videre til", validate_choice=False, coerce=str)
    note = TextAreaField(
        "Besked til konsulenterne (valgfrit)",
        filters=[clean_text],
        validators=[max_length(1000)],
        description="Fx hvorfor henvendelsen sendes videre. Står i begge e-mails.",
    )

    page_order = ("consultant", "note")

    def __init__(
        self, *args: Any, consultants: dict[str, str], current: str, **kwargs: Any
    ) -> None:
        """`consultants`: name by key, the one the request is with (`current`) included."""
        super().__init__(*args, **kwargs)
        self.names = consultants
        self.current = current
        self.consultant.choices = select_choices(
            [("", "Vælg en konsulent")]
            + [(key, name) for key, name in consultants.items() if key != current]
        )

    @property
    def error_fields(self) -> list[Field]:
        return [self[name] for name in self.page_order if self[name].errors]

    def validate_consultant(self, field: Field) -> None:
        if field.data == self.current:
            raise StopValidation(
                f"Henvendelsen er allerede hos {self.names[self.current]}. Vælg en anden."
            )
        if field.data not in self.names:
            raise StopValidation("Vælg den konsulent, henvendelsen skal sendes videre til.")
