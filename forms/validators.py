"""Danish validators: phone, CVR, postcode, municipality, e-mail; messages in Danish (or
English: they are translated as the request's language says, intake.i18n)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from stdnum.dk import cvr as stdnum_cvr
from stdnum.exceptions import ValidationError as StdnumError
from wtforms import Field, Form
from wtforms.validators import Length, StopValidation, ValidationError

from forms.validated import error_list
from intake.reference_data import town_for_postcode
from intake.translation import _l

_PHONE_PREFIX = re.compile(r"^(\+45|0045)")


def max_length(n: int) -> Length:
    """At most `n` characters, said in the page's language (Length fills in %(max)d)."""
    return Length(max=n, message=_l("Skriv højst %(max)d tegn."))


def normalise_phone(raw: str) -> str | None:
    """A Danish phone number as its 8 digits, or None when it is not one.

    Danish numbers have no area codes: every number is 8 digits. People write them with
    spaces ("33 76 20 40") and often with the country code, "+45" or "0045", which we strip
    before counting the digits.
    """
    compact = re.sub(r"[\s\-.]", "", raw)
    compact = _PHONE_PREFIX.sub("", compact)
    # [0-9], not \d: \d also matches other scripts' digits, such as Arabic-Indic ones.
    return compact if re.fullmatch(r"[0-9]{8}", compact) else None


def danish_phone(form: Form, field: Field) -> None:
    if not field.data:
        return
    phone = normalise_phone(field.data)
    if phone is None:
        raise ValidationError(gettext("Skriv et dansk telefonnummer med 8 cifre, fx 33 76 20 40."))
    field.data = phone


def cvr_number(form: Form, field: Field) -> None:
    """CVR, the Danish company register number: 8 digits with a modulus-11 check digit."""
    if not field.data:
        return
    try:
        field.data = stdnum_cvr.validate(field.data)
    except StdnumError:
        raise ValidationError(
            gettext("CVR-nummeret findes ikke. Det består af 8 cifre, fx 12 34 56 78.")
        ) from None


def email_address(form: Form, field: Field) -> None:
    """A syntactically real address (no DNS lookup: forms must work offline too).

    æ, ø and å are fine in the domain (sent as punycode) but not before the @: such
    addresses need SMTPUTF8 all the way, which BL's mail servers and Salesforce do not promise.
    """
    if not field.data:
        raise StopValidation(gettext("Skriv din e-mailadresse."))
    local_part = field.data.rpartition("@")[0]
    if not local_part.isascii():
        raise StopValidation(
            gettext(
                "Skriv e-mailadressen uden æ, ø, å og andre specialtegn før @, fx soeren@bolig.dk."
            )
        )
    try:
        result = validate_email(field.data, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise StopValidation(
            gettext("Skriv en gyldig e-mailadresse, fx navn@boligorganisation.dk.")
        ) from None
    field.data = result.normalized


def existing_postcode(form: Form, field: Field) -> None:
    if not re.fullmatch(r"[0-9]{4}", field.data or ""):
        raise StopValidation(gettext("Skriv et postnummer med 4 cifre, fx 8000."))
    if town_for_postcode(field.data) is None:
        raise StopValidation(gettext("Postnummeret %(postcode)s findes ikke.", postcode=field.data))


class _VisibleText:
    def __init__(self, message: Any) -> None:
        self.message = message
        self.field_flags = {"required": True}  # the input gets `required`, as with InputRequired

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data if isinstance(field.data, str) else ""
        if not any(unicodedata.category(c)[0] in "LNPS" for c in value):
            error_list(field).clear()
            raise StopValidation(self.message)


def visible_text(message: Any) -> Callable[..., None]:
    """Required, judged on the cleaned value: at least one letter, digit, punctuation mark or
    symbol. (InputRequired looks at the raw input, so a NUL, a control character or a
    zero-width space passed it and was stored as an empty or invisible name.)"""
    return _VisibleText(message)


def one_of(choices: Callable[[], Iterable[tuple[str, str]]], message: Any) -> Callable[..., None]:
    """The value must be one of the (value, label) choices; otherwise `message`."""

    def _check(form: Form, field: Field) -> None:
        if field.data not in {value for value, _ in choices()}:
            raise StopValidation(message)

    return _check


def one_of_values(values: frozenset[str], message: Any) -> Callable[..., None]:
    """The value must be one of `values` (a set made once, for long lists); else `message`."""

    def _check(form: Form, field: Field) -> None:
        if field.data not in values:
            raise StopValidation(message)

    return _check
