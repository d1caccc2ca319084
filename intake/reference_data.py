"""Danish postcodes and municipalities shipped with the package (see intake/data/README.md)."""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache

from intake.paths import DATA_DIR


@cache
def postcodes() -> dict[str, str]:
    """Postcode → town name, e.g. "8000" → "Aarhus C" (PostNord, October 2020)."""
    with open(DATA_DIR / "postnumre.csv", encoding="utf-8", newline="") as f:
        return {row["postnr"]: row["navn"] for row in csv.DictReader(f)}


@cache
def _kommuner() -> list[dict[str, str]]:
    with open(DATA_DIR / "kommuner.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def municipalities() -> dict[str, str]:
    """Kommunekode → the short name lists use, for the 98 municipalities: "101" → "København"."""
    return {row["kode"]: row["navn"] for row in _kommuner()}


@cache
def official_municipality_names() -> dict[str, str]:
    """Kommunekode → the official name sentences, e-mails and labels use: "101" → "Københavns
    Kommune", "400" → "Bornholms Regionskommune", "492" → "Ærø Kommune"."""
    return {row["kode"]: row["officielt_navn"] for row in _kommuner()}


def official_municipality_name(code: str, short_name: str) -> str:
    """The municipality's official name; a code the shipped list lacks (a routing file's own)
    reads "<short name> Kommune"."""
    return official_municipality_names().get(code) or f"{short_name} Kommune"


def town_for_postcode(postcode: str) -> str | None:
    return postcodes().get(postcode)


# The district letters PostNord adds to a town's name for its postcodes: "Aarhus C", "København
# NV", "Odense SØ". People often leave them out ("8000 Aarhus"): the postcode says which.
_DISTRICT = re.compile(r" (?:C|K|M|N|S|V|Ø|NV|NØ|SV|SØ)$")


def _town_key(town: str) -> str:
    """A town as typed, for comparing: NFC, case and spacing folded, dots dropped, "å" as
    "aa" (the old spelling "Århus" is Aarhus)."""
    folded = " ".join(unicodedata.normalize("NFC", town).replace(".", " ").split()).casefold()
    return folded.replace("å", "aa")


def same_town(typed: str, town: str) -> bool:
    """Whether `typed` names `town` (a postcode's town as the list has it): the same name in
    any letter case or spacing, or without its district letters ("Aarhus" for "Aarhus C")."""
    return _town_key(typed) in {_town_key(town), _town_key(_DISTRICT.sub("", town))}
