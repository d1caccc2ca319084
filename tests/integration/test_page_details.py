"""The small things a person or a checker meets on every page: HEAD answers as GET does, a
favicon, forms that post back to themselves without `action=""`, the one script; and text
stored as meant: NFC, with no bidi or other invisible characters, wherever it is shown."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select, update

from intake.delivery.worker import Worker
from intake.models import Pamphlet, Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, hidden_fields, submit
from tests.support.settings import send_mail_to

PUBLIC_PAGES = ["/pjecer/", "/opstartshjaelp/", "/privatliv/"]


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/admin/login", "/healthz"])
def test_head_answers_as_get_does(client, path):
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert head.get_data() == b""


def test_head_of_a_receipt_answers_as_get_does(client):
    location = submit(client, "/opstartshjaelp/", VALID_HELP).headers["Location"]
    assert client.head(location).status_code == client.get(location).status_code == 200
    assert client.head("/kvittering/forkert").status_code == 404


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_page_has_a_favicon_that_is_served(client, path):
    html = client.get(path).get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert icon, "no favicon link"
    with client.get(icon.group(1)) as answer:  # a file: closed when read
        assert answer.status_code == 200
        assert answer.mimetype == "image/svg+xml"
        assert answer.get_data().startswith(b"<svg")


def test_the_standalone_app_answers_favicon_ico(client):
    with client.get("/favicon.ico") as answer:
        assert answer.status_code == 200
        assert answer.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
        assert answer.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file's header


@pytest.mark.parametrize("path", ["/pjecer/", "/opstartshjaelp/"])
def test_the_forms_post_to_themselves_without_an_empty_action(client, path):
    html = client.get(path).get_data(as_text=True)
    assert 'action=""' not in html
    assert re.search(r'<form method="post" novalidate>', html)


def test_the_one_script_is_ours_and_small(client):
    html = client.get("/pjecer/").get_data(as_text=True)
    (src,) = re.findall(r'<script src="([^"]+)" defer></script>', html)
    with client.get(src) as script:
        assert script.status_code == 200
        assert len(script.get_data()) < 1024
        assert "data-focus-on-load" in script.get_data(as_text=True)


# -- Text as typed ---------------------------------------------------------------------------

NFD = {"å": "a\u030a", "ø": "ø", "æ": "æ"}  # "å" as macOS sends it: "a" + a combining ring
RLO, PDF, LRI, PDI, ZWSP = "\u202e", "\u202c", "\u2066", "\u2069", "\u200b"


def decomposed(text: str) -> str:
    return text.replace("å", NFD["å"])


@pytest.fixture
def config(config, smtp):
    return send_mail_to(config, smtp)


def test_text_is_stored_nfc_without_bidi_or_invisible_characters(app, client, db, smtp, office):
    typed = {
        "organisation": decomposed(f"{RLO}Boligselskabet Sønderå{PDF}"),
        "first_name": f"{LRI}Åse{PDI}",
        "last_name": f"Bøgh{ZWSP}-Ørsted",
        "street": decomposed(f"Søndergade 7{RLO}, 1. sal"),
        "note": decomposed(f"Første linje{RLO}\r\nAnden linje på Ærø{PDF}"),
    }
    assert submit(client, "/pjecer/", VALID_ORDER, **typed).status_code == 303

    stored = db.scalars(select(Submission)).one()
    assert stored.organisation == "Boligselskabet Sønderå"
    assert (stored.first_name, stored.last_name) == ("Åse", "Bøgh-Ørsted")
    assert stored.street == "Søndergade 7, 1. sal"
    assert stored.note == "Første linje\nAnden linje på Ærø"  # the line break kept

    # Found by a search typed either way, in the back office.
    for q in ("Sønderå", decomposed("Sønderå")):
        listed = office.get("/admin/orders/", query_string={"q": q}).get_data(as_text=True)
        assert stored.reference in listed, q

    # Shown clean in the CSV and every e-mail.
    sheet = office.get("/admin/orders.csv").get_data(as_text=True)
    (row,) = list(csv.reader(io.StringIO(sheet.removeprefix("\ufeff")), delimiter=";"))[1:]
    assert "Boligselskabet Sønderå" in row
    assert not any(ch in sheet for ch in (RLO, PDF, LRI, PDI, ZWSP))
    Worker(app).run_once()
    assert len(smtp.messages) == 3
    for received in smtp.messages:
        for text in (received.message["Subject"], received.body("plain"), received.body("html")):
            assert not any(ch in text for ch in (RLO, PDF, LRI, PDI, ZWSP)), received.rcpt_tos
            assert "a\u030a" not in text


def test_a_start_up_request_is_cleaned_the_same_way(client, db):
    typed = {
        "participants": decomposed(f"Ærøskøbing Boligforening{RLO}\nSønderå Bolig"),
        "message": f"Hvor starter vi?{ZWSP}{LRI}",
    }
    assert submit(client, "/opstartshjaelp/", VALID_HELP, **typed).status_code == 303
    stored = db.scalars(select(Submission)).one()
    assert stored.participants == "Ærøskøbing Boligforening\nSønderå Bolig"
    assert stored.message == "Hvor starter vi?"


# -- The blank form, rendered once ---------------------------------------------------------


def test_every_get_of_a_kept_blank_form_has_its_own_tokens(client, build_app):
    first, second = (hidden_fields(client.get("/pjecer/").get_data(as_text=True)) for _ in "ab")
    assert first["form_token"] != second["form_token"]  # a one-time key each
    other = build_app().test_client()  # another visitor: another session, another CSRF token
    assert (
        hidden_fields(other.get("/pjecer/").get_data(as_text=True))["csrf_token"]
        != (first["csrf_token"])
    )
    for form in (first, second):  # and each posts
        assert client.post("/pjecer/", data={**form, **VALID_ORDER}).status_code == 303


def test_a_catalogue_changed_by_another_process_shows_at_the_next_get(client, db):
    assert "Højst 50 stk." in client.get("/pjecer/").get_data(as_text=True)  # now kept
    # The back office of another web process: its change reaches this one through the database.
    db.execute(update(Pamphlet).values(title="Kommunesamarbejde – 2. udgave", stock=7))
    db.commit()
    html = client.get("/pjecer/").get_data(as_text=True)
    assert "Kommunesamarbejde – 2. udgave" in html
    assert "Højst 7 stk. – der er kun 7 på lager lige nu." in html
