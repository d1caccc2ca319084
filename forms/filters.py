"""Input filters: strip what no person types and what would break storage or e-mail headers."""

from __future__ import annotations

import re
from typing import Any

# Control characters (C0 incl. NUL, DEL, C1) other than tab and newline; PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What undecodable bytes leave behind: U+FFFD, or (Werkzeug keeps invalid UTF-8 escaped)
# a percent escape of a non-ASCII byte such as "%F8" for a Latin-1 "ø".
_GARBLED = re.compile(r"\ufffd|%[89a-fA-F][0-9a-fA-F]")


def looks_garbled(value: str) -> bool:
    """True when the text arrived in another encoding than UTF-8 and would garble æøå."""
    return bool(_GARBLED.search(value))


# Unicode's own line and paragraph separators: line breaks too (str.splitlines splits there).
_UNICODE_BREAK = re.compile("[\u2028\u2029]")


def clean_line(value: Any) -> Any:
    """A one-line value: no control characters or line breaks, surrounding spaces removed."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    value = _UNICODE_BREAK.sub(" ", value)
    return _CONTROL.sub("", value).strip()


def clean_text(value: Any) -> Any:
    """A multi-line value: line breaks kept as \\n, other control characters removed."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _UNICODE_BREAK.sub("\n", value)
    return _CONTROL.sub("", value).strip()
