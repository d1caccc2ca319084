"""Danish validators and input filters, as tables of input → result."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from forms.filters import clean_line, clean_text, looks_garbled
from forms.validators import normalise_phone
from intake.reference_data import municipalities, postcodes, town_for_postcode
from intake.timefmt import danish_time


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("33762040", "33762040"),
        ("33 76 20 40", "33762040"),
        ("+45 33 76 20 40", "33762040"),
        ("0045 33762040", "33762040"),
        ("+4533762040", "33762040"),
        ("33-76-20-40", "33762040"),
        ("3376204", None),  # 7 digits
        ("337620401", None),  # 9 digits
        ("+46 33762040", None),  # Sweden
        ("tlf 33762040", None),
        ("", None),
    ],
)
def test_normalise_phone(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Søbo  ", "Søbo"),
        ("Bo\r\nX-Injected: yes", "Bo X-Injected: yes"),
        ("Null\x00byte", "Nullbyte"),
        ("Tab\tkept", "Tab\tkept"),
        (None, None),
    ],
)
def test_clean_line(raw, expected):
    assert clean_line(raw) == expected


def test_clean_text_keeps_line_breaks_as_newlines():
    assert clean_text("Hej\r\nmed\rdig\x07") == "Hej\nmed\ndig"
    assert clean_text("Linje\u2028to\u2029tre") == "Linje\nto\ntre"


NFD_AA = "a\u030a"  # "å" as macOS and some phones send it: "a" + a combining ring


@pytest.mark.parametrize("clean", [clean_line, clean_text])
def test_text_is_stored_as_nfc(clean):
    typed = f"S{NFD_AA}ren {NFD_AA}ge"
    assert typed != "Såren åge"
    assert clean(typed) == "Såren åge"
    assert len(clean(typed)) == len("Såren åge")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u202eNesnah", "Nesnah"),  # RIGHT-TO-LEFT OVERRIDE: would show "hanseN"
        ("Bo\u202dgh\u202c", "Bogh"),  # LEFT-TO-RIGHT OVERRIDE … POP DIRECTIONAL FORMATTING
        ("\u2067Åse\u2069 Bøgh", "Åse Bøgh"),  # RIGHT-TO-LEFT ISOLATE … POP DIRECTIONAL ISOLATE
        ("\u200fSøbo\u200e", "Søbo"),  # RIGHT-TO-LEFT and LEFT-TO-RIGHT MARK
        ("Zero\u200bwidth\u200c\u200d", "Zerowidth"),  # zero-width space, non-joiner, joiner
        ("\ufeffBOM", "BOM"),
        ("Kommune\u00adsamarbejde", "Kommunesamarbejde"),  # a soft hyphen
        ("C1\x85control\x9b", "C1 control"),  # NEL is a line break; CSI is removed
    ],
)
def test_bidi_and_other_invisible_characters_are_removed(raw, expected):
    assert clean_line(raw) == expected


def test_a_multi_line_field_keeps_its_lines_but_not_its_bidi_controls():
    assert clean_text("Første linje\u202e\nAnden linje") == "Første linje\nAnden linje"


@pytest.mark.parametrize(
    ("text", "garbled"),
    [("Sønderå", False), ("50% rabat", False), ("S%F8nder%E5", True), ("S\ufffdnder", True)],
)
def test_looks_garbled(text, garbled):
    assert looks_garbled(text) is garbled


@pytest.mark.parametrize(
    ("postcode", "town"),
    [("1000", "København K"), ("5970", "Ærøskøbing"), ("9990", "Skagen"), ("0999", None)],
)
def test_town_for_postcode(postcode, town):
    assert town_for_postcode(postcode) == town


def test_the_packaged_reference_data_is_complete():
    assert len(municipalities()) == 98
    assert "411" not in municipalities()  # Christiansø is not a municipality
    assert municipalities()["825"] == "Læsø"
    assert len(postcodes()) == 1111


@pytest.mark.parametrize(
    ("utc", "shown"),
    [
        (datetime(2026, 1, 15, 11, 5, tzinfo=UTC), "15.01.2026 kl. 12.05"),  # winter: UTC+1
        (datetime(2026, 7, 15, 11, 5, tzinfo=UTC), "15.07.2026 kl. 13.05"),  # summer: UTC+2
    ],
)
def test_danish_time(utc, shown):
    assert danish_time(utc) == shown
