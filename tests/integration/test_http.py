"""Both forms over real HTTP (a real server on loopback, a real HTTP client)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select

from intake.models import Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, count, hidden_fields


def _fill_and_post(base: str, path: str, data: dict) -> requests.Response:
    session = requests.Session()
    page = session.get(base + path, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    return session.post(
        base + path, data={**hidden_fields(page.text), **data}, allow_redirects=True, timeout=30
    )


@pytest.mark.parametrize(
    ("path", "data", "heading"),
    [
        ("/pjecer/", VALID_ORDER, "Tak for din bestilling"),
        ("/opstartshjaelp/", VALID_HELP, "Tak for din anmodning om hjælp"),
    ],
)
def test_a_valid_post_ends_on_the_receipt(live_server, db, path, data, heading):
    response = _fill_and_post(live_server, path, data)

    assert response.status_code == 200
    assert response.history[0].status_code == 303
    assert "/kvittering/" in response.url
    submission = db.scalars(select(Submission)).one()
    assert heading in response.text
    assert submission.reference in response.text
    assert submission.organisation == "Boligselskabet Sønderå Ærø"
    assert submission.full_name == "Åse Bøgh-Ørsted"


def test_an_invalid_post_over_http_shows_danish_errors_and_stores_nothing(live_server, db):
    response = _fill_and_post(
        live_server, "/pjecer/", {**VALID_ORDER, "postcode": "0000", "email": "aase@"}
    )
    assert response.status_code == 200
    assert "Postnummeret 0000 findes ikke." in response.text
    assert "Skriv en gyldig e-mailadresse" in response.text
    assert count(db) == 0


def test_a_post_without_csrf_over_http_is_400(live_server, db):
    response = requests.post(f"{live_server}/pjecer/", data=VALID_ORDER, timeout=10)
    assert response.status_code == 400
    assert "sikkerhedsnøglen" in response.text
    assert count(db) == 0


def test_text_that_is_not_utf8_is_refused_not_stored_garbled(live_server, db):
    """Latin-1 bytes from a client: the form asks again; nothing garbled is stored."""
    session = requests.Session()
    page = session.get(f"{live_server}/pjecer/", timeout=10)
    fields = {**hidden_fields(page.text), **VALID_ORDER, "note": "", "organisation": "Sønderå"}
    body = "&".join(f"{quote(k)}={quote(str(v), encoding='latin-1')}" for k, v in fields.items())
    response = session.post(
        f"{live_server}/pjecer/",
        data=body.encode("ascii"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 200
    assert "tegn, vi ikke kan læse" in response.text
    assert count(db) == 0
