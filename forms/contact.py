"""What both public forms share: who is asking, from where, and the anti-spam fields.

Field names are the contract in DESIGN.md ("Fields"). Every label, hint and message is Danish,
marked with `lazy_gettext` so that it is shown in the request's language (intake.i18n); the
form classes are made once and kept, so the words are looked up when they are shown. WTForms'
own defaults are never shown because every validator here carries its own message.

There is no consent box: BL handles a request because the person makes it (GDPR art. 6(1)(b)
and (f)), and consent that is a condition of the service would not be freely given (art. 7(4)).
A notice under the send button says how the data is used (templates/intake/_fields.html); a
posted `consent` field is ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from flask import current_app
from flask_babel import gettext
from wtforms import (
    EmailField,
    Field,
    HiddenField,
    SelectField,
    StringField,
    TelField,
)
from wtforms.fields import SelectChoice  # type: ignore[attr-defined]  # new in 3.3, stubs: 3.2

from forms.filters import clean_line, clean_text, looks_garbled
from forms.formdata import FormFieldsOnly
from forms.validated import error_list
from forms.validators import (
    cvr_number,
    danish_phone,
    email_address,
    max_length,
    one_of_values,
    visible_text,
)
from intake.translation import _l


def select_choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


LINE = [clean_line]
TEXT = [clean_text]


@functools.lru_cache(maxsize=4)
def _municipality_list(
    municipalities: tuple[tuple[str, str], ...],
) -> tuple[tuple[SelectChoice, ...], frozenset[str]]:
    """The list's choices and the codes it accepts, made once per routing: every form shown
    or posted needs them, and 98 municipalities are not made anew for each."""
    choices = tuple(select_choices([("", _l("Vælg kommune")), *municipalities]))
    return choices, frozenset(code for code, _ in municipalities)


class PublicForm(FormFieldsOnly):
    """What both forms share: who is asking, from where, and the anti-spam fields."""

    class Meta:
        @property
        def csrf_time_limit(self) -> int:
            # A form may stay open as long as its "shown at" stamp is accepted.
            return int(current_app.config["INTAKE_FORM_MAX_AGE_SECONDS"])

    form_token = HiddenField()
    # Honeypot: hidden from people and screen readers; bots fill in anything named like this.
    website = StringField(_l("Lad dette felt være tomt"), filters=LINE)

    organisation = StringField(
        _l("Boligorganisation"),
        filters=LINE,
        validators=[
            visible_text(_l("Skriv boligorganisationens navn.")),
            max_length(255),
        ],
        description=_l("Fx Boligselskabet Søbo eller AAB."),
    )
    first_name = StringField(_l("Fornavn (valgfrit)"), filters=LINE, validators=[max_length(40)])
    last_name = StringField(
        _l("Efternavn"),
        filters=LINE,
        validators=[visible_text(_l("Skriv dit efternavn.")), max_length(80)],
    )
    email = EmailField(
        _l("E-mail"),
        filters=LINE,
        validators=[max_length(254), email_address],
        description=_l("Vi sender kvitteringen hertil."),
    )
    phone = TelField(
        _l("Telefon (valgfrit)"),
        filters=LINE,
        validators=[max_length(20), danish_phone],
        description=_l("8 cifre, fx 33 76 20 40."),
    )
    role = StringField(
        _l("Stilling eller rolle (valgfrit)"),
        filters=LINE,
        validators=[max_length(128)],
        description=_l("Fx direktør, forretningsfører eller afdelingsformand."),
    )
    cvr = StringField(
        _l("CVR-nummer (valgfrit)"),
        filters=LINE,
        validators=[max_length(16), cvr_number],
        description=_l("Boligorganisationens CVR-nummer, 8 cifre."),
    )
    municipality = SelectField(
        _l("Kommune"),
        validate_choice=False,
        description=_l("Den kommune, hvor boligorganisationen har sine afdelinger."),
    )

    def __init__(
        self, *args: Any, municipalities: Sequence[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices, codes = _municipality_list(tuple(municipalities))
        self.municipality.choices = list(choices)
        self.municipality.validators = [one_of_values(codes, _l("Vælg en kommune fra listen."))]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and looks_garbled(field.data) and not field.errors:
                message = gettext("Teksten indeholder tegn, vi ikke kan læse. Skriv den igen.")
                error_list(field).append(message)
                valid = False
        return valid

    # The order the fields appear on the page (see templates/intake/_fields.html), which the
    # error summary follows; WTForms itself keeps the order the fields were declared in.
    CONTACT_ORDER: ClassVar[tuple[str, ...]] = (
        "organisation",
        "municipality",
        "cvr",
        "first_name",
        "last_name",
        "email",
        "phone",
        "role",
    )
    page_order: ClassVar[tuple[str, ...]] = CONTACT_ORDER

    @property
    def error_fields(self) -> list[Field]:
        """The fields with errors, in page order, for the error summary."""
        position = {name: index for index, name in enumerate(self.page_order)}
        with_errors = [field for field in self if field.errors and field.name != "csrf_token"]
        # Fields not named in page_order (the pamphlet quantities) come first, as on the page.
        return sorted(with_errors, key=lambda field: position.get(field.name, -1))
