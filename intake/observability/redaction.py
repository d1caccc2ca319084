"""What a log line may say: no e-mail addresses (an SMTP refusal names the recipient, a URL
may hold a look-up by address). Log lines go further than the database (log shippers, support
tickets), so they get less; the delivery worker's errors go through `mask_emails`
(intake.delivery.errors.log_text)."""

from __future__ import annotations

import re
from urllib.parse import unquote

_ENCODED_WORD = re.compile(r"\S*%[0-9A-Fa-f]{2}\S*")
_EMAIL = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+")


def _decoded(word: str) -> str:
    """A percent-encoded word (a URL, a query) decoded, twice-encoded too: `%40` is an `@`."""
    for _ in range(3):
        decoded = unquote(word)
        if decoded == word:
            break
        word = decoded
    return word


def _mask_encoded(match: re.Match[str]) -> str:
    word = _decoded(match.group(0))
    return _EMAIL.sub("<e-mail>", word) if _EMAIL.search(word) else match.group(0)


def mask_emails(text: str) -> str:
    """The text with each e-mail address replaced by `<e-mail>`, also one percent-encoded in
    a URL (`aase%40boegh.dk`): such a word is shown decoded, with its addresses masked."""
    return _EMAIL.sub("<e-mail>", _ENCODED_WORD.sub(_mask_encoded, text))
