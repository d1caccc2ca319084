"""Input filters: text as people mean it, without what would break storage or e-mail headers.

Every text field goes through `clean_line` (one line) or `clean_text` (several). Both

- normalise to NFC, so "å" typed as "a" + a combining ring (as macOS and some phones send it)
  is stored, searched and compared as the one letter "å";
- remove control characters (PostgreSQL refuses NUL) and the invisible format characters no
  person means to type: the bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, …),
  which turn "Hansen" into "nesnaH" wherever the name is shown (pages, CSV, e-mails,
  Salesforce), zero-width spaces and joiners, the byte order mark, soft hyphens (Unicode's
  categories Cc and Cf);
- keep line breaks only in multi-line fields (as "\\n"); a one-line field gets a space instead.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# What undecodable bytes leave behind: U+FFFD, or (Werkzeug keeps invalid UTF-8 escaped)
# a percent escape of a non-ASCII byte such as "%F8" for a Latin-1 "ø".
_GARBLED = re.compile(r"\ufffd|%[89a-fA-F][0-9a-fA-F]")
# ASCII's control characters other than tab and newline (the fast path for plain ASCII).
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_KEPT = frozenset("\t\n")
# Line breaks: CR LF, CR, and Unicode's own line and paragraph separators.
_LINE_BREAK = re.compile("\r\n|[\r\u2028\u2029\x85]")


def looks_garbled(value: str) -> bool:
    """True when the text arrived in another encoding than UTF-8 and would garble æøå."""
    return bool(_GARBLED.search(value))


def _invisible(ch: str) -> bool:
    return ch not in _KEPT and unicodedata.category(ch) in ("Cc", "Cf")


def visible_text(value: str) -> str:
    """NFC, without control and format characters (tab and newline kept)."""
    if value.isascii():
        return _ASCII_CONTROL.sub("", value)
    value = unicodedata.normalize("NFC", value)
    return "".join(ch for ch in value if not _invisible(ch))


def clean_line(value: Any) -> Any:
    """A one-line value: line breaks become spaces, surrounding spaces removed."""
    if not isinstance(value, str):
        return value
    return visible_text(_LINE_BREAK.sub(" ", value).replace("\n", " ")).strip()


def clean_text(value: Any) -> Any:
    """A multi-line value: line breaks kept as \\n, surrounding spaces removed."""
    if not isinstance(value, str):
        return value
    return visible_text(_LINE_BREAK.sub("\n", value)).strip()
