"""The catalogues of BL Intake's English (intake/translations/): extract, update, compile, check.

    python tools/i18n.py extract   # messages.pot from code and templates; each .po updated
    python tools/i18n.py compile   # each messages.po to messages.mo beside it
    python tools/i18n.py check     # exit 1: a message missing, untranslated or fuzzy

Danish is the source language (the msgids); en/LC_MESSAGES/messages.po holds the English. The
.mo files are built, never committed: by `make` (run, test) and by the wheel's build hook
(hatch_build.py), which calls `compile_catalogues` below.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "intake" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
# gettext, ngettext, _ and N_ are Babel's defaults; lazy_gettext is Flask-Babel's, _l ours
# (intake.translation).
KEYWORDS = {
    "_": None,
    "_l": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
}


def _read_po(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def extracted() -> Catalog:
    """Every message in the code and templates, as babel.cfg says where to look."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(cfg)
    catalog = Catalog(project="bl-intake", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def extract() -> None:
    """Write messages.pot and bring each language's messages.po up to date (new messages
    empty, gone ones dropped; never fuzzy: a changed Danish text is a new message)."""
    template = extracted()
    with TEMPLATE.open("wb") as file:
        write_po(file, template, omit_header=False, width=100, include_lineno=False)
    for language in languages():
        path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        catalog = _read_po(path, language)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as file:
            write_po(file, catalog, width=100, include_lineno=False, ignore_obsolete=True)


def compile_catalogues(source: Path = TRANSLATIONS, target: Path | None = None) -> list[Path]:
    """Each <language>/LC_MESSAGES/messages.po under `source` compiled to messages.mo under
    `target` (default: beside it). Returns the .mo files written."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        catalog = _read_po(po, po.parent.parent.name)
        mo = (target or source) / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        if not mo.exists() or mo.read_bytes() != buffer.getvalue():
            mo.write_bytes(buffer.getvalue())
        written.append(mo)
    return written


def problems() -> list[str]:
    """What keeps the catalogues from being complete: a message in the code that a language's
    catalogue lacks, one it has that the code no longer uses, an empty or a fuzzy translation."""
    found = []
    wanted = {message.id for message in extracted() if message.id}
    for language in languages():
        catalog = _read_po(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", language)
        has = {message.id for message in catalog if message.id}
        found += [f"{language}: missing: {_show(m)}" for m in sorted(wanted - has, key=str)]
        found += [f"{language}: no longer used: {_show(m)}" for m in sorted(has - wanted, key=str)]
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings):
                found.append(f"{language}: untranslated: {_show(message.id)}")
            if message.fuzzy:
                found.append(f"{language}: fuzzy: {_show(message.id)}")
    return found


def _show(message_id: object) -> str:
    return repr(message_id[0] if isinstance(message_id, tuple | list) else message_id)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "extract":
        extract()
    elif command == "compile":
        for mo in compile_catalogues():
            print(mo.relative_to(ROOT))
    elif command == "check":
        found = problems()
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            print(f"{len(found)} problem(s): run `python tools/i18n.py extract`, then translate.")
            return 1
        print("The catalogues are complete.")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
