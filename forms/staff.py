"""The back office's forms: sign-in, and the order actions."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from forms.filters import clean_line, clean_text


class LoginForm(FlaskForm):
    email = EmailField(
        "E-mail",
        filters=[clean_line],
        validators=[InputRequired("Skriv din e-mail."), Length(max=254)],
    )
    password = PasswordField(
        "Adgangskode", validators=[InputRequired("Skriv din adgangskode."), Length(max=1024)]
    )


class ShipForm(FlaskForm):
    note = StringField(
        "Note, fx pakkenummer (valgfrit)", filters=[clean_line], validators=[Length(max=255)]
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Begrundelse",
        filters=[clean_text],
        validators=[InputRequired("Skriv, hvorfor ordren annulleres."), Length(max=1000)],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""
