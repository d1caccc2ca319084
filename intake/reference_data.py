"""Danish postcodes and municipalities shipped with the package (see intake/data/README.md)."""

from __future__ import annotations

import csv
from functools import cache

from intake.paths import DATA_DIR


@cache
def postcodes() -> dict[str, str]:
    """Postcode → town name, e.g. "8000" → "Aarhus C" (PostNord, October 2020)."""
    with open(DATA_DIR / "postnumre.csv", encoding="utf-8", newline="") as f:
        return {row["postnr"]: row["navn"] for row in csv.DictReader(f)}


@cache
def municipalities() -> dict[str, str]:
    """Kommunekode → name for the 98 municipalities, e.g. "101" → "København"."""
    with open(DATA_DIR / "kommuner.csv", encoding="utf-8", newline="") as f:
        return {row["kode"]: row["navn"] for row in csv.DictReader(f)}


def town_for_postcode(postcode: str) -> str | None:
    return postcodes().get(postcode)
