"""Signed tokens: receipt links and the "form shown at" stamp.

Each kind of token has its own salt, so one can never be passed off as another.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from intake.settings import secret_key

RECEIPT_SALT = "intake.receipt"
FORM_SALT = "intake.form-shown"


def _receipt_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(current_app), salt=RECEIPT_SALT)


def receipt_token(public_id: str) -> str:
    return _receipt_serializer().dumps(public_id)


def public_id_from_receipt_token(token: str) -> str | None:
    """The submission's public id, or None for a tampered or foreign token."""
    try:
        public_id = _receipt_serializer().loads(token)
    except BadData:
        return None
    return public_id if isinstance(public_id, str) else None


@dataclass(frozen=True)
class FormStamp:
    """What a rendered form carries: its one-time submission key, when it was shown, and
    whether it is a form shown again after a post came too soon (its next post is not timed:
    the person has already filled it in)."""

    submission_key: str
    form: str
    age_seconds: float
    timing_checked: bool = False


def _form_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(current_app), salt=FORM_SALT)


def form_token(
    submission_key: str, form: str, shown_at: float, *, timing_checked: bool = False
) -> str:
    """Signed {key, form, time shown}; the time is kept to the millisecond, because
    itsdangerous' own timestamps are whole seconds and would make forms look up to 1 s older.
    `timing_checked`: the form is shown again after a post that came too soon."""
    payload: dict[str, object] = {"k": submission_key, "f": form, "t": round(shown_at, 3)}
    if timing_checked:
        payload["c"] = 1
    return _form_serializer().dumps(payload)


def read_form_token(token: str, form: str, now: float) -> FormStamp | None:
    """The stamp of a genuine token for this form, or None (missing, tampered, other form)."""
    try:
        payload = _form_serializer().loads(token)
    except BadData:
        return None
    if not isinstance(payload, dict) or payload.get("f") != form:
        return None
    key, shown_at = payload.get("k"), payload.get("t")
    if not isinstance(key, str) or not key or not isinstance(shown_at, int | float):
        return None
    return FormStamp(key, form, now - shown_at, timing_checked=payload.get("c") == 1)
