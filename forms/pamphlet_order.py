"""The pamphlet order form (/pjecer/): a quantity per pamphlet, and the delivery address."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from flask_babel import gettext
from wtforms import Field, IntegerField, StringField, TextAreaField
from wtforms.validators import NumberRange
from wtforms.widgets import TextInput

from forms.contact import LINE, TEXT, PublicForm
from forms.validated import error_list
from forms.validators import existing_postcode, max_length, visible_text
from intake.formats import whole_number
from intake.models import Pamphlet
from intake.reference_data import same_town, town_for_postcode
from intake.translation import N_, _l, lazy


@dataclass(frozen=True)
class ShownPamphlet:
    """A pamphlet as the form shows it: a snapshot of its catalogue row, so that a form class
    made for one catalogue can be kept and used by any request (no session attached)."""

    id: int
    slug: str
    title: str
    max_per_order: int
    stock: int | None

    @classmethod
    def of(cls, pamphlet: Pamphlet) -> ShownPamphlet:
        return cls(
            pamphlet.id, pamphlet.slug, pamphlet.title, pamphlet.max_per_order, pamphlet.stock
        )


class QuantityField(IntegerField):
    """A pamphlet quantity: a text box for digits (no spinner: `inputmode="numeric"` brings
    the phone's number pad), empty until the person writes a number; empty means 0; anything
    but a whole number is a Danish error."""

    widget = TextInput()

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
            raise ValueError(gettext("Skriv antallet som et helt tal, fx 10.")) from None

    def _value(self) -> str:
        if self.raw_data:  # as typed, also when it is not a number
            return str(self.raw_data[0])
        return str(self.data) if self.data else ""


NOTHING_TO_ORDER = _l("Der er ingen pjecer at bestille lige nu.")


def sold_out(pamphlet: ShownPamphlet | Pamphlet) -> bool:
    """Counted, and none left: shown on the form, but it cannot be ordered."""
    return pamphlet.stock is not None and pamphlet.stock <= 0


def order_limit(pamphlet: ShownPamphlet | Pamphlet) -> int:
    """The most one order may ask for: the per-order maximum, or the stock when lower."""
    if pamphlet.stock is None:
        return pamphlet.max_per_order
    return max(0, min(pamphlet.max_per_order, pamphlet.stock))


def _in_page_language(message: str, limit: int) -> str:
    """`message` with `limit` in it ("10.000", or "10,000" in English), translated and formatted
    when shown: the form class is made once per catalogue and used in either language."""
    return lazy(lambda: gettext(message, limit=whole_number(limit)))


def _quantity_hint(pamphlet: ShownPamphlet) -> str:
    limit = order_limit(pamphlet)
    if sold_out(pamphlet):
        return _l("Midlertidigt udsolgt. Pjecen kan ikke bestilles lige nu.")
    if limit < pamphlet.max_per_order:
        return _in_page_language(
            N_("Højst %(limit)s stk. – der er kun %(limit)s på lager lige nu."),
            limit,
        )
    return _in_page_language(N_("Højst %(limit)s stk."), limit)


def _quantity_rule(pamphlet: ShownPamphlet) -> NumberRange:
    """0 up to the order limit; a sold-out pamphlet takes only 0 (a crafted post may try)."""
    limit = order_limit(pamphlet)
    message: str
    if sold_out(pamphlet):
        message = _l("Midlertidigt udsolgt: pjecen kan ikke bestilles lige nu. Sæt antallet til 0.")
    elif limit < pamphlet.max_per_order:
        message = _in_page_language(
            N_(
                "Der er kun %(limit)s på lager lige nu, så du kan bestille fra 0 til %(limit)s stk."
            ),
            limit,
        )
    else:
        message = _in_page_language(N_("Du kan bestille fra 0 til %(limit)s stk."), limit)
    return NumberRange(min=0, max=limit, message=message)


class PamphletOrderForm(PublicForm):
    street = StringField(
        _l("Vej og husnummer"),
        filters=LINE,
        validators=[visible_text(_l("Skriv leveringsadressen.")), max_length(255)],
    )
    postcode = StringField(
        _l("Postnummer"),
        filters=LINE,
        validators=[existing_postcode],
        description=_l("4 cifre."),
    )
    city = StringField(
        _l("By (valgfrit)"),
        filters=LINE,
        validators=[max_length(64)],
        description=_l("Udfyldes ud fra postnummeret, hvis du lader feltet stå tomt."),
    )
    attention = StringField(_l("Att. (valgfrit)"), filters=LINE, validators=[max_length(255)])
    note = TextAreaField(_l("Bemærkning (valgfrit)"), filters=TEXT, validators=[max_length(1000)])

    pamphlets: ClassVar[Sequence[ShownPamphlet]] = ()
    page_order = (
        *PublicForm.CONTACT_ORDER,
        "street",
        "postcode",
        "city",
        "attention",
        "note",
    )

    @classmethod
    def for_catalogue(cls, pamphlets: Sequence[ShownPamphlet]) -> type[PamphletOrderForm]:
        """A form class with one `quantity-<slug>` field per pamphlet shown in the catalogue,
        each limited by the pamphlet's per-order maximum and by its stock when counted."""
        fields: dict[str, Any] = {
            f"quantity-{p.slug}": QuantityField(
                p.title, validators=[_quantity_rule(p)], description=_quantity_hint(p)
            )
            for p in pamphlets
        }
        fields["pamphlets"] = tuple(pamphlets)
        return type("PamphletOrderFormForCatalogue", (cls,), fields)

    @staticmethod
    def sold_out(pamphlet: ShownPamphlet) -> bool:
        return sold_out(pamphlet)

    def quantity_fields(self) -> list[tuple[ShownPamphlet, Field]]:
        return [(p, self[f"quantity-{p.slug}"]) for p in self.pamphlets]

    def ordered(self) -> list[tuple[ShownPamphlet, int]]:
        return [(p, field.data) for p, field in self.quantity_fields() if field.data]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        valid = self._check_town() and valid
        quantities = self.quantity_fields()
        if not quantities:  # every pamphlet hidden: nothing can be ordered
            self.form_errors.append(NOTHING_TO_ORDER)
            return False
        if not any(field.errors for _, field in quantities) and not self.ordered():
            # The message goes beside the first pamphlet that can be ordered.
            orderable = [field for p, field in quantities if not sold_out(p)] or [quantities[0][1]]
            error_list(orderable[0]).append(gettext("Skriv et antal ved mindst én pjece."))
            valid = False
        return valid

    def _check_town(self) -> bool:
        """The town must be the postcode's (so the label is right): an empty one is filled in,
        one written another way ("aarhus", "Århus C") becomes the list's ("Aarhus C"), and
        another town is an error that names the right one."""
        town = town_for_postcode(self.postcode.data or "")
        if self.postcode.errors or town is None or self.city.errors:
            return True  # the postcode's own message says what is wrong
        if not self.city.data or same_town(self.city.data, town):
            self.city.data = town
            return True
        error_list(self.city).append(
            gettext(
                "Postnummer %(postcode)s hører til %(town)s. Ret byen eller postnummeret.",
                postcode=self.postcode.data,
                town=town,
            )
        )
        return False

    def town(self) -> str:
        """The postcode's town, as the list has it (once validated)."""
        return self.city.data or ""
