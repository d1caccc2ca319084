"""Salesforce record ids: the 18-character case-safe form, and the emulator's fixed ids."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DEFAULT_OWNER_ID", "ORG_ID", "normalize_id", "with_checksum"]

_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def with_checksum(id15: str) -> str:
    """Salesforce's 18-character form of a 15-character id (the case-safe suffix)."""
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, c in enumerate(id15[start : start + 5]) if "A" <= c <= "Z")
        suffix += _ID_CHARS[bits]
    return id15 + suffix


def normalize_id(value: Any) -> str | None:
    """The 18-character id for a 15- or 18-character id, or None if it is not one."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    return with_checksum(value[:15])


ORG_ID = with_checksum("00DEm0000000001")
DEFAULT_OWNER_ID = with_checksum("005EMULATOR0001")
