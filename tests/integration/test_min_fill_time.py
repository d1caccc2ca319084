"""The "form shown at" stamp: a post faster than INTAKE_MIN_FILL_SECONDS is not stored."""

from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeSerializer

from intake.tokens import FORM_SALT
from tests.support.helpers import VALID_ORDER, count, hidden_fields, submit
from tests.support.settings import TEST_SECRET

NEUTRAL = "Tak for din henvendelse"


@pytest.fixture
def config(config):
    config["INTAKE_MIN_FILL_SECONDS"] = 3
    return config


def test_a_post_faster_than_the_minimum_fill_time_is_not_stored(client, db):
    response = submit(client, "/pjecer/", VALID_ORDER)
    assert response.status_code == 200
    assert NEUTRAL in response.get_data(as_text=True)
    assert count(db) == 0


def test_a_post_after_the_minimum_fill_time_is_stored(client, db):
    page = client.get("/pjecer/")
    shown_earlier = URLSafeSerializer(TEST_SECRET, salt=FORM_SALT)
    form = {
        **hidden_fields(page.get_data(as_text=True)),
        **VALID_ORDER,
        "form_token": shown_earlier.dumps(
            {"k": "key-of-a-form-shown-ten-seconds-ago", "f": "pjecer", "t": time.time() - 10}
        ),
    }
    assert client.post("/pjecer/", data=form).status_code == 303
    assert count(db) == 1


def test_a_post_a_little_short_of_the_minimum_is_not_stored(client, db):
    page = client.get("/pjecer/")
    form = {
        **hidden_fields(page.get_data(as_text=True)),
        **VALID_ORDER,
        "form_token": URLSafeSerializer(TEST_SECRET, salt=FORM_SALT).dumps(
            {"k": "key-of-a-form-shown-2.5-seconds-ago", "f": "pjecer", "t": time.time() - 2.5}
        ),
    }
    assert NEUTRAL in client.post("/pjecer/", data=form).get_data(as_text=True)
    assert count(db) == 0
