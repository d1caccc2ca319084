"""The back office's catalogue form: add a pamphlet, or edit one.

The slug names the public form's field (`quantity-<slug>`) and the edit page's address, so
it is chosen once, when the pamphlet is added, and never changed (`NewPamphletForm`); left
empty, it is made from the title.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from wtforms import BooleanField, Field, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import (
    InputRequired,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from forms.filters import clean_line, clean_text
from forms.formdata import FormFieldsOnly
from forms.validators import max_length

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Paths under /admin/catalogue/ that a slug may not take.
RESERVED_SLUGS = frozenset({"new"})


class WholeNumberField(IntegerField):
    """A whole number, or None when left empty; anything else is a Danish error."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0].strip() if valuelist and isinstance(valuelist[0], str) else ""
        if raw == "":
            self.data = None
            return
        try:
            self.data = int(raw)
        except ValueError:
            self.data = None
            raise ValueError("Skriv et helt tal, fx 100.") from None


def _required_number(message: str) -> Callable[[Any, Field], None]:
    """Empty is an error; a number that did not parse already has its own."""

    def check(form: Any, field: Field) -> None:
        if field.data is None:
            raise StopValidation("" if field.errors else message)

    return check


class PamphletForm(FormFieldsOnly):
    """Everything about a pamphlet that can change after it was added."""

    title = StringField(
        "Titel",
        filters=[clean_line],
        validators=[InputRequired("Skriv pjecens titel."), max_length(255)],
    )
    description = TextAreaField(
        "Beskrivelse (valgfrit)", filters=[clean_text], validators=[max_length(2000)]
    )
    max_per_order = WholeNumberField(
        "Højst pr. bestilling",
        validators=[
            _required_number("Skriv, hvor mange der højst kan bestilles ad gangen."),
            NumberRange(min=1, max=10000, message="Skriv et tal fra 1 til 10000."),
        ],
        description="Det største antal, man kan bestille på én gang.",
    )
    stock = WholeNumberField(
        "Lager (valgfrit)",
        validators=[
            Optional(),
            NumberRange(min=0, max=10_000_000, message="Skriv 0 eller et større helt tal."),
        ],
        description=(
            "Antal på lager. Lad feltet stå tomt, hvis lageret ikke skal tælles. "
            "Ved 0 vises pjecen som midlertidigt udsolgt."
        ),
    )
    # The stock as the page showed it: a save that leaves the stock alone does not overwrite
    # what shipping has subtracted meanwhile, and a changed stock is only saved if nobody
    # else changed it first (see intake.backoffice.catalogue_pages).
    stock_shown = HiddenField()
    position = WholeNumberField(
        "Rækkefølge",
        validators=[
            _required_number("Skriv et tal for rækkefølgen, fx 1."),
            NumberRange(min=0, max=10000, message="Skriv et tal fra 0 til 10000."),
        ],
        description="Pjecerne vises i bestillingsformularen efter dette tal, lavest først.",
    )
    hidden = BooleanField("Skjul pjecen i bestillingsformularen")

    page_order: tuple[str, ...] = (
        "title",
        "description",
        "max_per_order",
        "stock",
        "position",
        "hidden",
    )

    @property
    def error_fields(self) -> list[Field]:
        """The fields with errors, in page order, for the error summary."""
        return [self[name] for name in self.page_order if self[name].errors]

    def shown_stock(self) -> int | None:
        """The stock the page was built on (None: not counted, or not readable)."""
        try:
            return int((self.stock_shown.data or "").strip())
        except ValueError:
            return None


SLUG_MAX = 64
_DANISH_LETTERS = (("æ", "ae"), ("ø", "oe"), ("å", "aa"))


def slug_from_title(title: str) -> str:
    """A short name made from a title: "Kommunesamarbejde – Hvorfor og hvordan?" →
    "kommunesamarbejde-hvorfor-og-hvordan". Æ, ø and å are spelled ae, oe and aa, as Danish
    web addresses write them; other accents are dropped; at most SLUG_MAX letters, cut
    between words."""
    text = title.lower()
    for letter, spelled in _DANISH_LETTERS:
        text = text.replace(letter, spelled)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = ""
    for word in re.findall(r"[a-z0-9]+", text):
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > SLUG_MAX:
            return slug or word[:SLUG_MAX]  # one word longer than that is cut
        slug = longer
    return slug


def unique_slug(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, or `base-2`, `base-3` … : the first that no pamphlet has and no path needs."""
    candidate, number = base, 1
    while candidate in RESERVED_SLUGS or taken(candidate):
        number += 1
        suffix = f"-{number}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
    return candidate


def _slug(form: NewPamphletForm, field: Field) -> None:
    value = field.data or ""
    if not value:  # left empty: made from the title (when the title is there to make it from)
        if not form.title.data:
            raise StopValidation()
        derived = slug_from_title(form.title.data)
        if not derived:
            raise StopValidation(
                "Titlen har ingen bogstaver eller tal at lave et kort navn af. Skriv et kort "
                "navn, fx pjece-2027."
            )
        field.data = unique_slug(derived, form.slug_taken)
        return
    if not SLUG.fullmatch(value):
        raise ValidationError(
            "Brug kun små bogstaver a–z, tal og bindestreger, fx kommunesamarbejde."
        )
    if value in RESERVED_SLUGS:
        raise ValidationError(f"„{value}“ kan ikke bruges som kort navn. Vælg et andet.")
    if form.slug_taken(value):
        raise ValidationError(f"Der er allerede en pjece med det korte navn „{value}“.")


class NewPamphletForm(PamphletForm):
    """Adding a pamphlet: the same fields plus its slug, made from the title unless typed,
    and checked for uniqueness."""

    slug = StringField(
        "Kort navn (valgfrit)",
        filters=[clean_line],
        validators=[max_length(SLUG_MAX), _slug],
        description=(
            "Laves ud fra titlen, hvis du lader feltet stå tomt (fx „Kommunesamarbejde – "
            "Hvorfor og hvordan?“ → kommunesamarbejde-hvorfor-og-hvordan). Små bogstaver a–z, "
            "tal og bindestreger. Det bliver navnet på feltet i bestillingsformularen og kan "
            "ikke ændres bagefter."
        ),
    )

    page_order = ("title", "slug", *PamphletForm.page_order[1:])

    def __init__(self, *args: Any, slug_taken: Callable[[str], bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slug_taken = slug_taken
