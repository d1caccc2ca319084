"""Danish formats (intake.formats) and the shipped reference data's names and towns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from intake import formats
from intake.reference_data import (
    municipalities,
    official_municipality_name,
    official_municipality_names,
    same_town,
)


@pytest.mark.parametrize(
    ("moment", "text", "table"),
    [
        # 17.35 UTC is 18.35 in Copenhagen in winter (CET) ...
        (
            datetime(2026, 12, 4, 17, 35, tzinfo=UTC),
            "4. december 2026 kl. 18.35",
            "04.12.2026 kl. 18.35",
        ),
        # ... and 19.05 in summer (CEST); late UTC evenings are the next Danish day.
        (datetime(2026, 7, 1, 17, 5, tzinfo=UTC), "1. juli 2026 kl. 19.05", "01.07.2026 kl. 19.05"),
        (
            datetime(2026, 3, 31, 22, 30, tzinfo=UTC),
            "1. april 2026 kl. 00.30",
            "01.04.2026 kl. 00.30",
        ),
        (
            datetime(2027, 1, 9, 8, 0, tzinfo=UTC),
            "9. januar 2027 kl. 09.00",
            "09.01.2027 kl. 09.00",
        ),
    ],
)
def test_times_in_text_and_in_tables(moment, text, table):
    assert formats.when(moment) == text
    assert formats.when_in_table(moment) == table


def test_a_day_in_text():
    assert formats.day(date(2026, 5, 17)) == "17. maj 2026"
    assert formats.day(datetime(2026, 10, 31, 23, 30, tzinfo=UTC)) == "1. november 2026"


@pytest.mark.parametrize(
    ("stored", "shown", "href"),
    [
        ("33762040", "33 76 20 40", "tel:+4533762040"),
        ("87331062", "87 33 10 62", "tel:+4587331062"),
        ("+45 33 76 20 49", "+45 33 76 20 49", "tel:+4533762049"),  # a routing file's own form
    ],
)
def test_phone_numbers_in_pairs_and_as_tel_links(stored, shown, href):
    assert formats.phone(stored) == shown
    assert formats.tel_href(stored) == href
    assert formats.phone_link(stored) == f'<a href="{href}">{shown}</a>'


def test_a_phone_link_escapes_what_it_is_given():
    link = formats.phone_link('1"><script>')
    assert "<script>" not in link
    assert "&#34;&gt;&lt;script&gt;" in link


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (5, "5"),
        (999, "999"),
        (1000, "1.000"),
        (10000, "10.000"),
        (1234567, "1.234.567"),
        (-1500, "-1.500"),
    ],
)
def test_whole_numbers_with_thousands_points(value, text):
    assert formats.whole_number(value) == text


def test_official_names_beside_the_short_ones():
    assert len(official_municipality_names()) == 98
    assert (municipalities()["101"], official_municipality_names()["101"]) == (
        "København",
        "Københavns Kommune",
    )
    assert official_municipality_names()["400"] == "Bornholms Regionskommune"
    assert official_municipality_names()["820"] == "Vesthimmerlands Kommune"
    assert official_municipality_names()["492"] == "Ærø Kommune"
    assert official_municipality_name("999", "Nowhere") == "Nowhere Kommune"


@pytest.mark.parametrize(
    ("typed", "town", "same"),
    [
        ("Aarhus C", "Aarhus C", True),
        ("aarhus c", "Aarhus C", True),
        ("Aarhus", "Aarhus C", True),  # the district letters left out: the postcode says which
        ("Århus C.", "Aarhus C", True),  # the old spelling
        ("  København   NV ", "København NV", True),
        ("Odense", "Odense SØ", True),
        ("ÆRØSKØBING", "Ærøskøbing", True),
        ("København", "Aarhus C", False),
        ("Aarhus N", "Aarhus C", False),
        ("Aar", "Aarhus C", False),
    ],
)
def test_a_typed_town_is_the_postcodes_town(typed, town, same):
    assert same_town(typed, town) is same


def test_a_town_typed_in_decomposed_letters_is_the_same_town():
    decomposed = "Sønderå".replace("å", "a\u030a")
    assert decomposed != "Sønderå"
    assert same_town(decomposed, "Sønderå")


def test_in_english_dates_read_4_december_2026_and_numbers_10_000():
    """On an English page or in an English e-mail (intake.i18n); Danish stays as above."""
    from flask import Flask
    from flask_babel import Babel, force_locale

    app = Flask(__name__)
    Babel(app, default_locale="da")
    moment = datetime(2026, 12, 4, 17, 35, tzinfo=UTC)
    with app.app_context():
        assert formats.when(moment) == "4. december 2026 kl. 18.35"
        with force_locale("en"):
            assert formats.day(date(2026, 12, 4)) == "4 December 2026"
            assert formats.when(moment) == "4 December 2026 at 18:35"
            assert formats.whole_number(10000) == "10,000"
            assert formats.when_in_table(moment) == "04.12.2026 kl. 18.35"  # staff's tables
        assert formats.whole_number(10000) == "10.000"
