"""Anti-spam (honeypot, "form shown at" stamp), CSRF, and one post = one submission."""

from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import select

from intake.models import Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, count, count_jobs, hidden_fields, submit

NEUTRAL = "Tak for din henvendelse"


@pytest.mark.parametrize("path,data", [("/pjecer/", VALID_ORDER), ("/opstartshjaelp/", VALID_HELP)])
def test_a_filled_honeypot_gets_a_neutral_answer_and_nothing_is_stored(client, db, path, data):
    response = submit(client, path, data, website="http://spam.example")
    assert response.status_code == 200
    assert NEUTRAL in response.get_data(as_text=True)
    assert count(db) == 0
    assert count_jobs(db) == 0


@pytest.mark.parametrize("token", [None, "", "forged.token.value"])
def test_a_missing_or_forged_form_stamp_is_not_stored(client, db, token):
    response = submit(client, "/pjecer/", VALID_ORDER, form_token=token)
    assert NEUTRAL in response.get_data(as_text=True)
    assert count(db) == 0


def test_a_stamp_from_the_other_form_is_not_accepted(client, db):
    other = hidden_fields(client.get("/opstartshjaelp/").get_data(as_text=True))["form_token"]
    response = submit(client, "/pjecer/", VALID_ORDER, form_token=other)
    assert NEUTRAL in response.get_data(as_text=True)
    assert count(db) == 0


@pytest.mark.parametrize("csrf", [None, "", "not-a-token"])
def test_a_post_without_a_valid_csrf_token_answers_400_and_keeps_the_values(client, db, csrf):
    response = submit(client, "/pjecer/", VALID_ORDER, csrf_token=csrf)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "sikkerhedsnøglen manglede eller var udløbet" in html
    assert 'value="Boligselskabet Sønderå Ærø"' in html
    assert count(db) == 0


def test_the_same_form_posted_twice_stores_one_submission_and_the_same_receipt(client, db):
    page = client.get("/pjecer/")
    form = {**hidden_fields(page.get_data(as_text=True)), **VALID_ORDER}

    first = client.post("/pjecer/", data=form)
    second = client.post("/pjecer/", data=form)

    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(db) == 1
    assert count_jobs(db) == 4


def test_a_fresh_form_makes_a_new_submission(client, db):
    submit(client, "/pjecer/", VALID_ORDER)
    submit(client, "/pjecer/", VALID_ORDER)
    assert count(db) == 2


def test_simultaneous_resends_over_http_store_one_submission(live_server, db):
    """A double click: the same POST arrives twice at once on separate connections."""
    session = requests.Session()
    page = session.get(f"{live_server}/pjecer/", timeout=10)
    form = {**hidden_fields(page.text), **VALID_ORDER}
    barrier = threading.Barrier(4)
    locations: list[str] = []

    def post() -> None:
        barrier.wait()
        answer = session.post(
            f"{live_server}/pjecer/", data=form, allow_redirects=False, timeout=30
        )
        locations.append(f"{answer.status_code} {answer.headers.get('Location')}")

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(locations)) == 1, locations
    assert locations[0].startswith("303 ")
    assert count(db) == 1
    assert count_jobs(db) == 4
    assert db.scalars(select(Submission.reference)).one().endswith("-00001")
