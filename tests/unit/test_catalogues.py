"""The catalogues are complete (tools/i18n.py): every message in the code and templates has its
English, none untranslated or fuzzy, none left over; and the check finds each fault."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from tests.support.paths import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import i18n  # tools/i18n.py, a script

EN_PO = Path("en/LC_MESSAGES/messages.po")


def test_every_message_has_its_english():
    assert i18n.problems() == []


@pytest.fixture
def broken(tmp_path, monkeypatch):
    """A copy of the catalogues the check reads instead; edit it with `change(po)`."""
    copy = tmp_path / "translations"
    shutil.copytree(i18n.TRANSLATIONS, copy)
    monkeypatch.setattr(i18n, "TRANSLATIONS", copy)

    def change(edit):
        path = copy / EN_PO
        with path.open("rb") as file:
            catalog = read_po(file, locale="en")
        edit(catalog)
        with path.open("wb") as file:
            write_po(file, catalog)

    return change


def test_a_message_missing_from_the_catalogue_fails(broken):
    broken(lambda catalog: catalog.delete("Bestil pjecer"))
    assert i18n.problems() == ["en: missing: 'Bestil pjecer'"]


def test_an_untranslated_message_fails(broken):
    def untranslate(catalog):
        catalog["Bestil pjecer"].string = ""

    broken(untranslate)
    assert i18n.problems() == ["en: untranslated: 'Bestil pjecer'"]


def test_a_fuzzy_message_fails(broken):
    def fuzz(catalog):
        catalog["Bestil pjecer"].flags.add("fuzzy")

    broken(fuzz)
    assert i18n.problems() == ["en: fuzzy: 'Bestil pjecer'"]


def test_a_message_no_longer_used_fails(broken):
    broken(lambda catalog: catalog.add("Findes ikke i koden", "Not in the code"))
    assert i18n.problems() == ["en: no longer used: 'Findes ikke i koden'"]


def test_the_compiled_catalogue_is_what_the_po_says(tmp_path):
    (mo,) = i18n.compile_catalogues(i18n.TRANSLATIONS, tmp_path)
    assert mo == tmp_path / "en/LC_MESSAGES/messages.mo"
    from babel.support import Translations

    with mo.open("rb") as file:
        translations = Translations(file)
    assert translations.gettext("Bestil pjecer") == "Order pamphlets"
