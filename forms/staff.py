"""The back office's forms: sign-in, and the order actions."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, StopValidation, ValidationError

from forms.filters import clean_line, clean_text
from forms.formdata import form_fields_only
from intake.staff import normalise_email


class StaffForm(FlaskForm):
    """The back office's forms read only the posted form fields (see forms.formdata)."""

    class Meta:
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            return form_fields_only(formdata)


def _fits_when_normalised(form: Any, field: Any) -> None:
    """The e-mail as the sign-in looks it up and records it (lower case) must fit 254 too:
    lower() can make it longer ("İ" becomes two characters), and the audit log's column
    holds 254 (PostgreSQL refused the row: a 500)."""
    if field.data and len(normalise_email(field.data)) > 254:
        raise ValidationError("Skriv højst 254 tegn.")


def _no_nul(form: Any, field: Any) -> None:
    """No NUL in a password: scrypt (through HMAC) pads the password with zero bytes, so
    the right password followed by NULs ("kodeord\\x00") would match too. Nobody can type
    a NUL; only a crafted post sends one."""
    if field.data and "\x00" in field.data:
        raise StopValidation("Adgangskoden indeholder et tegn, der ikke kan bruges.")


class LoginForm(StaffForm):
    email = EmailField(
        "E-mail",
        filters=[clean_line],
        validators=[
            InputRequired("Skriv din e-mail."),
            Length(max=254, message="Skriv højst 254 tegn."),
            _fits_when_normalised,
        ],
    )
    password = PasswordField(
        "Adgangskode",
        validators=[
            InputRequired("Skriv din adgangskode."),
            Length(max=1024, message="Skriv højst 1024 tegn."),
            _no_nul,
        ],
    )


class ShipForm(StaffForm):
    note = StringField(
        "Note, fx pakkenummer (valgfrit)",
        filters=[clean_line],
        validators=[Length(max=255, message="Skriv højst 255 tegn.")],
    )


class CancelForm(StaffForm):
    reason = TextAreaField(
        "Begrundelse",
        filters=[clean_text],
        validators=[
            InputRequired("Skriv, hvorfor ordren annulleres."),
            Length(max=1000, message="Skriv højst 1000 tegn."),
        ],
    )


class ActionForm(StaffForm):
    """A button that changes something: only its CSRF token."""
