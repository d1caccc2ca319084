"""Anti-spam that never loses a person's request (DESIGN: "Anti-spam never loses…"), CSRF, and
one post = one submission.

A filled honeypot is held for staff (tests/integration/test_backoffice_held.py releases it); a
post without a genuine "shown at" stamp gets the form again. No answer says "modtaget" unless it
shows a reference.
"""

from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import select

from intake.models import HeldPost, Submission
from tests.support.helpers import (
    VALID_HELP,
    VALID_ORDER,
    count,
    count_jobs,
    hidden_fields,
    submit,
)

CHECK_AGAIN = "Din henvendelse er ikke sendt endnu. Tjek oplysningerne, og send igen."
# What a password manager may put in a field it cannot see, and what a bot puts there.
TRAPS = ["http://spam.example", "Åse Bøgh-Ørsted"]


@pytest.mark.parametrize("trap", TRAPS)
@pytest.mark.parametrize(
    ("path", "data", "heading"),
    [
        ("/pjecer/", VALID_ORDER, "Vi ser din bestilling igennem"),
        ("/opstartshjaelp/", VALID_HELP, "Vi ser din anmodning igennem"),
    ],
)
def test_a_filled_honeypot_is_held_not_sent_on_and_not_counted(
    client, db, path, data, heading, trap
):
    response = submit(client, path, data, website=trap)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in html
    assert "er ikke sendt videre endnu" in html
    assert "kvittering på e-mail med et referencenummer" in html
    assert "modtaget" not in html.lower()  # it has no reference yet
    assert count(db) == 0  # not a submission: no reference, not counted
    assert count_jobs(db) == 0  # not delivered
    post = db.scalars(select(HeldPost)).one()
    assert post.trap == trap
    assert post.email == "aase.boegh@sønderå.dk"
    assert post.form_data["organisation"] == "Boligselskabet Sønderå Ærø"
    assert post.form_data["municipality_code"] == "492"


def test_pressing_send_again_on_a_held_form_holds_nothing_more(client, db):
    page = client.get("/pjecer/")
    form = {**hidden_fields(page.get_data(as_text=True)), **VALID_ORDER, "website": TRAPS[1]}
    first = client.post("/pjecer/", data=form)
    second = client.post("/pjecer/", data={**form, "website": ""})  # the manager held back

    assert first.status_code == second.status_code == 200
    assert "Vi ser din bestilling igennem" in second.get_data(as_text=True)
    assert count(db, HeldPost) == 1
    assert count(db) == 0


def test_an_invalid_post_with_the_honeypot_filled_shows_the_errors_first(client, db):
    response = submit(client, "/pjecer/", VALID_ORDER, website=TRAPS[0], email="forkert")
    assert "Skriv en gyldig e-mailadresse" in response.get_data(as_text=True)
    assert count(db, HeldPost) == 0 and count(db) == 0


def stamp_of(html: str) -> str:
    return hidden_fields(html)["form_token"]


@pytest.mark.parametrize("token", [None, "", "forged.token.value"])
def test_a_missing_or_forged_stamp_gets_the_form_again_with_every_value(client, db, token):
    response = submit(client, "/pjecer/", VALID_ORDER, form_token=token)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert CHECK_AGAIN in html
    assert "modtaget" not in html.lower()
    assert 'value="Boligselskabet Sønderå Ærø"' in html
    assert 'value="25"' in html
    assert "Levér gerne før jul – tak!</textarea>" in html
    assert count(db) == 0 and count(db, HeldPost) == 0
    # The fresh stamp it carries lets the next press through.
    again = {**hidden_fields(html), **VALID_ORDER}
    assert client.post("/pjecer/", data=again).status_code == 303
    assert count(db) == 1


def test_a_stamp_from_the_other_form_gets_the_form_again(client, db):
    other = stamp_of(client.get("/opstartshjaelp/").get_data(as_text=True))
    response = submit(client, "/pjecer/", VALID_ORDER, form_token=other)
    assert CHECK_AGAIN in response.get_data(as_text=True)
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


def test_a_consent_field_that_is_posted_is_ignored(client, db):
    assert submit(client, "/pjecer/", VALID_ORDER, consent="y").status_code == 303
    assert submit(client, "/pjecer/", VALID_ORDER, consent=None).status_code == 303
    assert db.scalars(select(Submission.consent_at)).all() == [None, None]


def test_no_form_asks_for_consent(client):
    for path in ("/pjecer/", "/opstartshjaelp/"):
        html = client.get(path).get_data(as_text=True)
        assert 'type="checkbox" id="consent"' not in html
        assert "samtykke" not in html
        under_the_button = r'Send (bestilling|anmodning)</button>\s*<p class="privacy-notice"'
        assert re.search(under_the_button, html)


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
