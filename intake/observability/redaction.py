"""Delivery errors as a log line may show them: without personal data.

A job's full error stays on the job (`flask --app wsgi intake jobs`, /admin/deliveries/),
beside the submission it is about. Log lines go further (log shippers, support tickets), so
they get less: e-mail addresses masked (an SMTP refusal names the recipient), and of a
Salesforce rejection only its error code and field names (its message can quote the
rejected value: "data value too large: <the name>").
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from intake.delivery.errors import RejectedData

_ENCODED_WORD = re.compile(r"\S*%[0-9A-Fa-f]{2}\S*")
_EMAIL = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+")
_CODE = re.compile(r"[A-Z][A-Z_]+")
_FIELDS = re.compile(r"\(felter: [^)]*\)")


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


def error_text(error: BaseException) -> str:
    """The error for a log line."""
    message = str(error) or type(error).__name__
    if isinstance(error, RejectedData):
        code = message.split(":", 1)[0].strip()
        fields = _FIELDS.search(message)
        summary = code if _CODE.fullmatch(code) else type(error).__name__
        return f"{summary}{' ' + fields.group(0) if fields else ''} (the message is on the job)"
    return mask_emails(message)
