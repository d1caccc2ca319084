"""The back office's sign-in forms: e-mail and password, then the second factor's code (or
enrolling an authenticator app)."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, PasswordField, StringField
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


class CodeForm(FormFieldsOnly):
    """The second step: a code from the authenticator app, or a recovery code."""

    code = StringField(
        "Kode",
        description=(
            "De 6 cifre, din godkendelsesapp viser lige nu. Har du ikke telefonen, så skriv en "
            "af dine gendannelseskoder."
        ),
        filters=[clean_line],
        validators=[InputRequired("Skriv koden fra din godkendelsesapp."), max_length(64)],
    )


class EnrolForm(FormFieldsOnly):
    """Enrolling an authenticator app: the first code it shows proves it holds the secret."""

    code = StringField(
        "Kode fra appen",
        description="De 6 cifre, appen viser, når du har tilføjet BL Intake.",
        filters=[clean_line],
        validators=[InputRequired("Skriv koden fra din godkendelsesapp."), max_length(64)],
    )
