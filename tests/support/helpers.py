"""Small helpers for tests: read the hidden fields of a page, fill in a form, count rows."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.models import DeliveryJob, Submission


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            attr = dict(attrs)
            if attr.get("type") == "hidden" and attr.get("name"):
                self.values[attr["name"] or ""] = attr.get("value") or ""


class _FormFields(HTMLParser):
    """Every field's value as the browser would post it: inputs (checked radios and
    checkboxes only), the selected option of each select, and textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        name = attr.get("name") or ""
        if tag == "input" and name:
            if attr.get("type") not in ("radio", "checkbox") or "checked" in attr:
                self.values[name] = attr.get("value") or ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attr:
            self.values[self._select] = attr.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_fields(html: str) -> dict[str, str]:
    """The values a page's forms would post as they stand (see _FormFields)."""
    parser = _FormFields()
    parser.feed(html)
    # A textarea's first newline belongs to the markup, not to the value.
    return {k: v.removeprefix("\n") for k, v in parser.values.items()}


def hidden_fields(html: str) -> dict[str, str]:
    """The csrf_token and form_token of a rendered form."""
    parser = _Inputs()
    parser.feed(html)
    return parser.values


VALID_CONTACT: dict[str, Any] = {
    "organisation": "Boligselskabet Sønderå Ærø",
    "first_name": "Åse",
    "last_name": "Bøgh-Ørsted",
    "email": "aase.boegh@sønderå.dk",
    "phone": "+45 33 76 20 40",
    "role": "Forretningsfører",
    "cvr": "",
    "municipality": "492",  # Ærø
}

VALID_ORDER: dict[str, Any] = {
    **VALID_CONTACT,
    "quantity-kommunesamarbejde": "25",
    "street": "Søndergade 7, 1. sal",
    "postcode": "5970",
    "city": "",
    "attention": "Bjørn Æbelø",
    "note": "Levér gerne før jul – tak!",
}

VALID_HELP: dict[str, Any] = {
    **VALID_CONTACT,
    "topics": ["styringsdialog", "forsyning_takster"],
    "existing_cooperation": "no",
    "participants": "Ærøskøbing Boligforening",
    "message": "Vi vil gerne i gang med et samarbejde med kommunen – hvor starter vi?",
}


def submit(client: Any, path: str, data: dict[str, Any], **overrides: Any) -> Any:
    """GET the form, then POST it with its own hidden fields plus `data`."""
    page = client.get(path)
    assert page.status_code == 200
    form = {**hidden_fields(page.get_data(as_text=True)), **data, **overrides}
    return client.post(path, data={k: v for k, v in form.items() if v is not None})


def count(session: Session, model: type = Submission) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def count_jobs(session: Session) -> int:
    return count(session, DeliveryJob)


def receipt_token_from(location: str) -> str:
    match = re.search(r"/kvittering/([^/?#]+)$", location)
    assert match, location
    return match.group(1)
