"""Delivery errors as a log line may show them: without personal data.

A job's full error stays on the job (`flask --app wsgi intake jobs`, /admin/deliveries/),
beside the submission it is about. Log lines go further (log shippers, support tickets), so
they get less: e-mail addresses masked (an SMTP refusal names the recipient), and of a
Salesforce rejection only its error code and field names (its message can quote the
rejected value: "data value too large: <the name>").
"""

from __future__ import annotations

import re

from crm_sync.errors import CrmRejected

_EMAIL = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+")
_CODE = re.compile(r"[A-Z][A-Z_]+")
_FIELDS = re.compile(r"\(felter: [^)]*\)")


def mask_emails(text: str) -> str:
    return _EMAIL.sub("<e-mail>", text)


def error_text(error: BaseException) -> str:
    """The error for a log line."""
    message = str(error) or type(error).__name__
    if isinstance(error, CrmRejected):
        code = message.split(":", 1)[0].strip()
        fields = _FIELDS.search(message)
        summary = code if _CODE.fullmatch(code) else type(error).__name__
        return f"{summary}{' ' + fields.group(0) if fields else ''} (the message is on the job)"
    return mask_emails(message)
