"""The back office's sign-in form."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length, StopValidation, ValidationError

from forms.filters import clean_line
from forms.formdata import FormFieldsOnly
from forms.validators import max_length
from intake.text import normalise_email


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


class LoginForm(FormFieldsOnly):
    email = EmailField(
        "E-mail",
        filters=[clean_line],
        validators=[
            InputRequired("Skriv din e-mail."),
            max_length(254),
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
