"""Absolute links to the public pages, for e-mails written outside any web request."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from intake.tokens import receipt_token


def public_url_for(endpoint: str, **values: Any) -> str:
    """An absolute URL on INTAKE_PUBLIC_URL (the site as the public reaches it)."""
    base = current_app.config["INTAKE_PUBLIC_URL"].rstrip("/")
    with current_app.test_request_context("/", base_url=base):
        return url_for(endpoint, _external=True, **values)


def receipt_url(public_id: str, language: str = "da") -> str:
    """The receipt page; in English (`?lang=en`) for a requester who wrote in English."""
    extra = {"lang": language} if language != "da" else {}
    return public_url_for("intake_public.receipt", token=receipt_token(public_id), **extra)
