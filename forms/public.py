"""The two public forms: pamphlet orders (/pjecer/) and start-up help (/opstartshjaelp/).

Field names are the contract in DESIGN.md ("Fields"). Every message is Danish; WTForms'
English defaults are never shown because every validator here carries its own message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, StopValidation

from forms.filters import clean_line, clean_text, looks_garbled
from forms.formdata import form_fields_only
from forms.validators import (
    cvr_number,
    danish_phone,
    email_address,
    existing_postcode,
    one_of,
    visible_text,
)
from intake.models import Pamphlet
from intake.reference_data import town_for_postcode

TOPICS: list[tuple[str, str]] = [
    ("boligsocial_anvisning", "Boligsocial anvisning"),
    ("forsyning_takster", "Forsyning og takster"),
    ("styringsdialog", "Styringsdialog"),
    ("strukturdebat", "Strukturdebat"),
    ("andet", "Andet"),
]

EXISTING_COOPERATION: list[tuple[str, str]] = [
    ("yes", "Ja, der er allerede et samarbejde"),
    ("no", "Nej, ikke endnu"),
    ("unknown", "Ved ikke"),
]


def _select_choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


LINE = [clean_line]
TEXT = [clean_text]


def _max(n: int) -> Length:
    return Length(max=n, message=f"Skriv højst {n} tegn.")


class PublicForm(FlaskForm):
    """What both forms share: who is asking, from where, and the anti-spam fields."""

    class Meta:
        @property
        def csrf_time_limit(self) -> int:
            # A form may stay open as long as its "shown at" stamp is accepted.
            return int(current_app.config["INTAKE_FORM_MAX_AGE_SECONDS"])

        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            return form_fields_only(formdata)

    form_token = HiddenField()
    # Honeypot: hidden from people and screen readers; bots fill in anything named like this.
    website = StringField("Lad dette felt være tomt", filters=LINE)

    organisation = StringField(
        "Boligorganisation",
        filters=LINE,
        validators=[visible_text("Skriv boligorganisationens navn."), _max(255)],
        description="Fx Boligselskabet Søbo eller AAB.",
    )
    first_name = StringField("Fornavn", filters=LINE, validators=[_max(40)])
    last_name = StringField(
        "Efternavn", filters=LINE, validators=[visible_text("Skriv dit efternavn."), _max(80)]
    )
    email = EmailField(
        "E-mail",
        filters=LINE,
        validators=[_max(254), email_address],
        description="Vi sender kvitteringen hertil.",
    )
    phone = TelField(
        "Telefon (valgfrit)",
        filters=LINE,
        validators=[_max(20), danish_phone],
        description="8 cifre, fx 33 76 20 40.",
    )
    role = StringField(
        "Stilling eller rolle (valgfrit)",
        filters=LINE,
        validators=[_max(128)],
        description="Fx direktør, forretningsfører eller afdelingsformand.",
    )
    cvr = StringField(
        "CVR-nummer (valgfrit)",
        filters=LINE,
        validators=[_max(16), cvr_number],
        description="Boligorganisationens CVR-nummer, 8 cifre.",
    )
    municipality = SelectField(
        "Kommune",
        validate_choice=False,
        description="Den kommune, hvor boligorganisationen har sine afdelinger.",
    )
    # The words of the consent's label that link to the privacy page (templates/_fields.html).
    CONSENT_LINK_TEXT: ClassVar[str] = "hvordan BL behandler mine oplysninger"
    consent = BooleanField(
        f"Jeg har læst, {CONSENT_LINK_TEXT}, og giver samtykke til det.",
        validators=[
            DataRequired(
                "Sæt kryds for at give samtykke, ellers kan vi ikke behandle din henvendelse."
            )
        ],
    )

    def __init__(self, *args: Any, municipalities: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.municipality.choices = _select_choices([("", "Vælg kommune"), *municipalities])
        self.municipality.validators = [
            one_of(lambda: municipalities, "Vælg en kommune fra listen.")
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and looks_garbled(field.data) and not field.errors:
                field.errors.append("Teksten indeholder tegn, vi ikke kan læse. Skriv den igen.")
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
    page_order: ClassVar[tuple[str, ...]] = (*CONTACT_ORDER, "consent")

    @property
    def error_fields(self) -> list[Field]:
        """The fields with errors, in page order, for the error summary."""
        position = {name: index for index, name in enumerate(self.page_order)}
        with_errors = [field for field in self if field.errors and field.name != "csrf_token"]
        # Fields not named in page_order (the pamphlet quantities) come first, as on the page.
        return sorted(with_errors, key=lambda field: position.get(field.name, -1))


class QuantityField(IntegerField):
    """A pamphlet quantity: empty means 0; anything but a whole number is a Danish error."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0].strip() if valuelist and isinstance(valuelist[0], str) else ""
        if raw == "":
            self.data = 0
            return
        # Plain digits only: int() would also take "1_000" and other scripts' digits.
        try:
            if not re.fullmatch(r"[+-]?[0-9]+", raw):
                raise ValueError(raw)
            self.data = int(raw)
        except ValueError:  # also a number too long for int() (over 4,300 digits)
            self.data = None
            raise ValueError("Skriv antallet som et helt tal, fx 10.") from None


SOLD_OUT = "Midlertidigt udsolgt"
NOTHING_TO_ORDER = "Der er ingen pjecer at bestille lige nu."


def sold_out(pamphlet: Pamphlet) -> bool:
    """Counted, and none left: shown on the form, but it cannot be ordered."""
    return pamphlet.stock is not None and pamphlet.stock <= 0


def order_limit(pamphlet: Pamphlet) -> int:
    """The most one order may ask for: the per-order maximum, or the stock when lower."""
    if pamphlet.stock is None:
        return pamphlet.max_per_order
    return max(0, min(pamphlet.max_per_order, pamphlet.stock))


def _quantity_hint(pamphlet: Pamphlet) -> str:
    limit = order_limit(pamphlet)
    if sold_out(pamphlet):
        return f"{SOLD_OUT}. Pjecen kan ikke bestilles lige nu."
    if limit < pamphlet.max_per_order:
        return f"Højst {limit} stk. – der er kun {limit} på lager lige nu."
    return f"Højst {limit} stk."


def _quantity_rule(pamphlet: Pamphlet) -> NumberRange:
    """0 up to the order limit; a sold-out pamphlet takes only 0 (a crafted post may try)."""
    limit = order_limit(pamphlet)
    if sold_out(pamphlet):
        message = f"{SOLD_OUT}: pjecen kan ikke bestilles lige nu. Sæt antallet til 0."
    elif limit < pamphlet.max_per_order:
        message = f"Der er kun {limit} på lager lige nu, så du kan bestille fra 0 til {limit} stk."
    else:
        message = f"Du kan bestille fra 0 til {limit} stk."
    return NumberRange(min=0, max=limit, message=message)


class PamphletOrderForm(PublicForm):
    street = StringField(
        "Vej og husnummer",
        filters=LINE,
        validators=[visible_text("Skriv leveringsadressen."), _max(255)],
    )
    postcode = StringField(
        "Postnummer", filters=LINE, validators=[existing_postcode], description="4 cifre."
    )
    city = StringField(
        "By (valgfrit)",
        filters=LINE,
        validators=[_max(64)],
        description="Udfyldes ud fra postnummeret, hvis du lader feltet stå tomt.",
    )
    attention = StringField("Att. (valgfrit)", filters=LINE, validators=[_max(255)])
    note = TextAreaField("Bemærkning (valgfrit)", filters=TEXT, validators=[_max(1000)])

    pamphlets: ClassVar[Sequence[Pamphlet]] = ()
    page_order = (
        *PublicForm.CONTACT_ORDER,
        "street",
        "postcode",
        "city",
        "attention",
        "note",
        "consent",
    )

    @classmethod
    def for_catalogue(cls, pamphlets: Sequence[Pamphlet]) -> type[PamphletOrderForm]:
        """A form class with one `quantity-<slug>` field per pamphlet shown in the catalogue,
        each limited by the pamphlet's per-order maximum and by its stock when counted."""
        fields: dict[str, Any] = {
            f"quantity-{p.slug}": QuantityField(
                p.title, default=0, validators=[_quantity_rule(p)], description=_quantity_hint(p)
            )
            for p in pamphlets
        }
        fields["pamphlets"] = tuple(pamphlets)
        return type("PamphletOrderFormForCatalogue", (cls,), fields)

    @staticmethod
    def sold_out(pamphlet: Pamphlet) -> bool:
        return sold_out(pamphlet)

    def quantity_fields(self) -> list[tuple[Pamphlet, Field]]:
        return [(p, self[f"quantity-{p.slug}"]) for p in self.pamphlets]

    def ordered(self) -> list[tuple[Pamphlet, int]]:
        return [(p, field.data) for p, field in self.quantity_fields() if field.data]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        quantities = self.quantity_fields()
        if not quantities:  # every pamphlet hidden: nothing can be ordered
            self.form_errors.append(NOTHING_TO_ORDER)
            return False
        if not any(field.errors for _, field in quantities) and not self.ordered():
            # The message goes beside the first pamphlet that can be ordered.
            orderable = [field for p, field in quantities if not sold_out(p)] or [quantities[0][1]]
            orderable[0].errors.append("Skriv et antal ved mindst én pjece.")
            valid = False
        return valid

    def town(self) -> str:
        """The city as typed, or the postcode's town when the field was left empty."""
        return self.city.data or town_for_postcode(self.postcode.data) or ""


def _topics_chosen(form: Any, field: Field) -> None:
    if not field.data:
        raise StopValidation("Vælg mindst ét emne.")
    known = {value for value, _ in TOPICS}
    if any(topic not in known for topic in field.data):
        raise StopValidation("Vælg emnerne fra listen.")


class StartupHelpForm(PublicForm):
    page_order = (
        *PublicForm.CONTACT_ORDER,
        "topics",
        "existing_cooperation",
        "participants",
        "message",
        "consent",
    )
    topics = SelectMultipleField(
        "Hvad vil I gerne have hjælp til?",
        choices=_select_choices(TOPICS),
        validate_choice=False,
        validators=[_topics_chosen],
    )
    existing_cooperation = RadioField(
        "Har I allerede et kommunesamarbejde?",
        choices=_select_choices(EXISTING_COOPERATION),
        validate_choice=False,
        validators=[one_of(lambda: EXISTING_COOPERATION, "Vælg et af svarene.")],
    )
    participants = TextAreaField(
        "Andre boligorganisationer i kommunen, der vil være med (valgfrit)",
        filters=TEXT,
        validators=[_max(2000)],
    )
    message = TextAreaField(
        "Fortæl kort om jeres situation (valgfrit)", filters=TEXT, validators=[_max(4000)]
    )
