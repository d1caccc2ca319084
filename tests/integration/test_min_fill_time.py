"""The "form shown at" stamp: a post sooner than INTAKE_MIN_FILL_SECONDS after the form was
shown (a browser's autofill does that in about a second) is never lost: the form comes back,
every value kept, with a calm line and a fresh stamp, and the next press goes through."""

from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeSerializer

from intake.models import HeldPost
from intake.tokens import FORM_SALT
from tests.support.helpers import VALID_ORDER, count, hidden_fields, submit
from tests.support.settings import TEST_SECRET

CHECK_AGAIN = "Din henvendelse er ikke sendt endnu. Tjek oplysningerne, og send igen."


@pytest.fixture
def config(config):
    config["INTAKE_MIN_FILL_SECONDS"] = 3
    return config


def stamp(shown_seconds_ago: float, key: str = "key-of-a-form-shown-earlier") -> str:
    payload = {"k": key, "f": "pjecer", "t": time.time() - shown_seconds_ago}
    return URLSafeSerializer(TEST_SECRET, salt=FORM_SALT).dumps(payload)


def test_a_post_sooner_than_the_minimum_gets_the_form_again_and_the_next_press_goes_through(
    client, db
):
    response = submit(client, "/pjecer/", VALID_ORDER)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert CHECK_AGAIN in html
    assert 'class="notice-summary"' in html and "Der er et problem" not in html
    assert "modtaget" not in html.lower()
    for value in ('value="Boligselskabet Sønderå Ærø"', 'value="Åse"', 'value="25"'):
        assert value in html
    assert '<option selected value="492">Ærø</option>' in html
    assert count(db) == 0 and count(db, HeldPost) == 0

    # Pressed again at once, as a person who just looked it over would: stored.
    again = client.post("/pjecer/", data={**hidden_fields(html), **VALID_ORDER})
    assert again.status_code == 303
    assert "/kvittering/" in again.headers["Location"]
    assert count(db) == 1


def test_the_form_shown_again_keeps_its_one_time_key(client, db):
    """A double click on the form shown again still makes one submission."""
    html = submit(client, "/pjecer/", VALID_ORDER).get_data(as_text=True)
    form = {**hidden_fields(html), **VALID_ORDER}
    first, second = client.post("/pjecer/", data=form), client.post("/pjecer/", data=form)
    assert first.headers["Location"] == second.headers["Location"]
    assert count(db) == 1


def test_a_post_too_soon_and_with_errors_shows_both_and_stores_after_the_fix(client, db):
    html = submit(client, "/pjecer/", VALID_ORDER, email="forkert").get_data(as_text=True)
    assert "Der er et problem" in html
    assert CHECK_AGAIN in html
    assert "Skriv en gyldig e-mailadresse" in html

    fixed = client.post("/pjecer/", data={**hidden_fields(html), **VALID_ORDER})
    assert fixed.status_code == 303
    assert count(db) == 1


def test_a_post_after_the_minimum_fill_time_is_stored(client, db):
    page = client.get("/pjecer/")
    form = {**hidden_fields(page.get_data(as_text=True)), **VALID_ORDER, "form_token": stamp(10)}
    assert client.post("/pjecer/", data=form).status_code == 303
    assert count(db) == 1


def test_a_post_a_little_short_of_the_minimum_gets_the_form_again(client, db):
    page = client.get("/pjecer/")
    form = {**hidden_fields(page.get_data(as_text=True)), **VALID_ORDER, "form_token": stamp(2.5)}
    assert CHECK_AGAIN in client.post("/pjecer/", data=form).get_data(as_text=True)
    assert count(db) == 0


def test_only_a_stamp_we_signed_can_skip_the_timing(client, db):
    forged = URLSafeSerializer("another key", salt=FORM_SALT).dumps(
        {"k": "forged", "f": "pjecer", "t": time.time(), "c": 1}
    )
    page = client.get("/pjecer/")
    form = {**hidden_fields(page.get_data(as_text=True)), **VALID_ORDER, "form_token": forged}
    assert CHECK_AGAIN in client.post("/pjecer/", data=form).get_data(as_text=True)
    assert count(db) == 0
