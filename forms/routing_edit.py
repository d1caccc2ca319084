"""The back office's routing forms: one municipality's kreds, and the consultants with the
pamphlet office. Each field is checked here, in Danish; what concerns the routing as a whole
(every kreds one consultant, every municipality's kreds covered) is checked by the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from email_validator import EmailNotValidError, validate_email
from wtforms import Field, Form, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError

from forms.contact import select_choices
from forms.filters import clean_line, clean_text
from forms.formdata import FormFieldsOnly
from forms.validators import danish_phone, max_length, visible_text
from intake.labels import ROUTING_STATUSES

LINE = [clean_line]
SALESFORCE_USER_ID = re.compile(r"005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
KREDSE = re.compile(r"\s*[0-9]{1,3}\s*(?:[,\s]\s*[0-9]{1,3}\s*)*")


class WithErrorFields:
    """The fields with errors, in page order, for the error summary."""

    page_order: tuple[str, ...] = ()

    @property
    def error_fields(self) -> list[Field]:
        form: Any = self
        return [form[name] for name in self.page_order if form[name].errors]


def staff_email(whose: str) -> Callable[[Form, Field], None]:
    """A real e-mail address, "Skriv <whose> e-mailadresse" when missing."""

    def check(form: Form, field: Field) -> None:
        if not field.data:
            raise StopValidation(f"Skriv {whose} e-mailadresse.")
        try:
            result = validate_email(field.data, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            raise StopValidation("Skriv en gyldig e-mailadresse, fx navn@bl.dk.") from None
        field.data = result.normalized

    return check


class MunicipalityRoutingForm(WithErrorFields, FormFieldsOnly):
    """/admin/routing/<code>: the municipality's kreds, how sure it is, and where that is from."""

    kreds = SelectField("Kreds", validate_choice=False, coerce=str)
    status = RadioField(
        "Hvor sikker er kredsen?",
        choices=select_choices(ROUTING_STATUSES.items()),
        validate_choice=False,
    )
    note = TextAreaField(
        "Kilde eller note (valgfrit)",
        filters=[clean_text],
        validators=[max_length(1000)],
        description="Hvor kredsen kommer fra, fx et referat eller en mail fra kredsen.",
    )

    page_order = ("kreds", "status", "note")

    def __init__(self, *args: Any, kredse: dict[int, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known_kredse = kredse
        self.kreds.choices = select_choices(
            (str(k), f"{k}. kreds – {name}") for k, name in kredse.items()
        )

    def validate_kreds(self, field: Field) -> None:
        raw = (field.data or "").strip()
        if not raw:
            raise StopValidation("Vælg en kreds.")
        if not re.fullmatch(r"[0-9]{1,3}", raw) or int(raw) not in self.known_kredse:
            known = ", ".join(str(k) for k in self.known_kredse)
            raise StopValidation(f"Kreds „{raw}“ har ingen konsulent. Vælg en af kredsene {known}.")

    def validate_status(self, field: Field) -> None:
        if field.data not in ROUTING_STATUSES:
            raise StopValidation(
                "Vælg, hvor sikker kredsen er: bekræftet, udledt, sandsynlig eller gæt."
            )


class OfficeForm(WithErrorFields, FormFieldsOnly):
    """The pamphlet office (a part of the consultants' page, prefix "office-")."""

    class Meta:
        csrf = False  # the page's one token is checked for the whole post

    name = StringField("Navn", filters=LINE, validators=[max_length(80)])
    email = StringField(
        "E-mail", filters=LINE, validators=[max_length(254), staff_email("pjecekontorets")]
    )
    phone = StringField(
        "Telefon (valgfrit)", filters=LINE, validators=[max_length(20), danish_phone]
    )

    page_order = ("name", "email", "phone")


class ConsultantForm(WithErrorFields, FormFieldsOnly):
    """One consultant (a part of the consultants' page, prefix "<key>-")."""

    class Meta:
        csrf = False  # the page's one token is checked for the whole post

    name = StringField(
        "Navn",
        filters=LINE,
        validators=[visible_text("Skriv konsulentens navn."), max_length(80)],
    )
    email = StringField(
        "E-mail", filters=LINE, validators=[max_length(254), staff_email("konsulentens")]
    )
    phone = StringField(
        "Telefon (valgfrit)", filters=LINE, validators=[max_length(20), danish_phone]
    )
    salesforce_user_id = StringField(
        "Salesforce-bruger-id (valgfrit)",
        filters=LINE,
        description="15 eller 18 tegn, begynder med 005. Konsulenten ejer så sine leads.",
    )
    kredse = StringField(
        "Kredse",
        filters=LINE,
        description="Kredsenes numre, adskilt med komma, fx 2, 9, 11.",
    )

    page_order = ("name", "email", "phone", "salesforce_user_id", "kredse")

    def validate_salesforce_user_id(self, field: Field) -> None:
        if field.data and not SALESFORCE_USER_ID.fullmatch(field.data):
            raise ValidationError(
                "Et Salesforce-bruger-id har 15 eller 18 bogstaver og cifre og begynder med "
                "005. Lad feltet stå tomt, hvis du ikke kender det."
            )

    def validate_kredse(self, field: Field) -> None:
        if field.data and not KREDSE.fullmatch(field.data):
            raise ValidationError("Skriv kredsenes numre adskilt med komma, fx 2, 9, 11.")

    def kreds_numbers(self) -> list[int]:
        """The kredse as numbers, in order, each once (after validate())."""
        return sorted({int(k) for k in re.findall(r"[0-9]+", self.kredse.data or "")})
