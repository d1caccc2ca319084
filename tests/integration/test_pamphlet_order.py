"""Ordering pamphlets on /pjecer/: what is stored, and what an invalid post shows."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from intake.models import JobKind, JobStatus, JobTarget, OrderStatus, Submission
from tests.support.helpers import VALID_ORDER, count, count_jobs, receipt_token_from, submit


def test_the_form_lists_the_catalogue_and_every_municipality(client):
    html = client.get("/pjecer/").get_data(as_text=True)
    assert "Kommunesamarbejde – Hvorfor og hvordan?" in html
    # Empty until a number is written, a text box for the phone's number pad (no spinner).
    quantity = re.search(r'<input [^>]*name="quantity-kommunesamarbejde"[^>]*>', html)
    assert quantity is not None
    assert dict(re.findall(r'([\w-]+)="([^"]*)"', quantity.group(0))) | {
        "aria-describedby": ""
    } == {
        "aria-describedby": "",
        "class": "width-4",
        "id": "quantity-kommunesamarbejde",
        "inputmode": "numeric",
        "name": "quantity-kommunesamarbejde",
        "type": "text",
        "value": "",
    }
    assert len(re.findall(r'<option value="\d{3}"', html)) == 98
    assert '<option value="492">Ærø</option>' in html


def test_a_valid_order_is_stored_with_its_lines_and_jobs(client, db):
    response = submit(client, "/pjecer/", VALID_ORDER)

    assert response.status_code == 303
    assert "/kvittering/" in response.headers["Location"]
    submission = db.scalars(select(Submission)).one()
    assert re.fullmatch(r"PJ-20\d\d-00001", submission.reference)
    assert submission.organisation == "Boligselskabet Sønderå Ærø"
    assert submission.full_name == "Åse Bøgh-Ørsted"
    assert submission.email == "aase.boegh@sønderå.dk"
    assert submission.phone == "33762040"
    assert (submission.municipality_code, submission.municipality_name) == ("492", "Ærø")
    assert submission.kreds == 3
    assert submission.consultant_key
    assert submission.street == "Søndergade 7, 1. sal"
    assert (submission.postcode, submission.city) == ("5970", "Ærøskøbing")
    assert submission.attention == "Bjørn Æbelø"
    assert submission.note == "Levér gerne før jul – tak!"
    assert submission.order_status is OrderStatus.NEW
    assert [(line.title, line.quantity) for line in submission.lines] == [
        ("Kommunesamarbejde – Hvorfor og hvordan?", 25)
    ]
    assert sorted((job.kind, job.target) for job in submission.jobs) == sorted(
        [
            (JobKind.EMAIL, JobTarget.PAMPHLET_OFFICE),
            (JobKind.EMAIL, JobTarget.CONSULTANT),
            (JobKind.EMAIL, JobTarget.REQUESTER),
            (JobKind.SALESFORCE, JobTarget.LEAD),
        ]
    )
    assert {job.status for job in submission.jobs} == {JobStatus.PENDING}


def test_references_count_up_per_form(client, db):
    for _ in range(2):
        assert submit(client, "/pjecer/", VALID_ORDER).status_code == 303
    references = db.scalars(select(Submission.reference).order_by(Submission.id)).all()
    assert [r[-5:] for r in references] == ["00001", "00002"]


@pytest.mark.parametrize("typed", ["", "Ærøskøbing", "ærøskøbing", "  ÆRØSKØBING "])
def test_the_city_is_stored_as_the_postcode_list_has_it(client, db, typed):
    assert submit(client, "/pjecer/", VALID_ORDER, city=typed).status_code == 303
    assert db.scalars(select(Submission.city)).one() == "Ærøskøbing"


def test_a_town_without_its_district_letters_is_the_postcodes_town(client, db):
    assert (
        submit(client, "/pjecer/", VALID_ORDER, postcode="8000", city="Aarhus").status_code == 303
    )
    assert db.scalars(select(Submission.city)).one() == "Aarhus C"  # as the label must read


def test_a_town_that_is_not_the_postcodes_names_the_right_one(client, db):
    response = submit(client, "/pjecer/", VALID_ORDER, postcode="9000", city="København")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Postnummer 9000 hører til Aalborg. Ret byen eller postnummeret." in html
    assert 'href="#city"' in html and 'id="city-error"' in html
    assert 'value="København"' in html  # as typed, beside the message
    assert count(db) == 0


def test_an_empty_city_is_shown_filled_in_when_the_form_comes_back(client):
    html = submit(client, "/pjecer/", VALID_ORDER, city="", email="forkert").get_data(as_text=True)
    assert re.search(r'id="city"[^>]*value="Ærøskøbing"', html)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "ikke-en-adresse", "Skriv en gyldig e-mailadresse"),
        ("email", "", "Skriv din e-mailadresse."),
        ("email", "søren@bolig.dk", "Skriv e-mailadressen uden æ, ø, å"),
        ("postcode", "0999", "Postnummeret 0999 findes ikke."),
        ("postcode", "12a4", "Skriv et postnummer med 4 cifre"),
        ("municipality", "999", "Vælg en kommune fra listen."),
        ("municipality", "", "Vælg en kommune fra listen."),
        ("quantity-kommunesamarbejde", "51", "Du kan bestille fra 0 til 50 stk."),
        ("quantity-kommunesamarbejde", "-1", "Du kan bestille fra 0 til 50 stk."),
        ("quantity-kommunesamarbejde", "mange", "Skriv antallet som et helt tal"),
        ("quantity-kommunesamarbejde", "0", "Skriv et antal ved mindst én pjece."),
        ("organisation", "", "Skriv boligorganisationens navn."),
        ("organisation", "Å" * 256, "Skriv højst 255 tegn."),
        ("last_name", "", "Skriv dit efternavn."),
        ("street", "", "Skriv leveringsadressen."),
        ("phone", "1234", "Skriv et dansk telefonnummer med 8 cifre"),
        ("cvr", "12345678", "CVR-nummeret findes ikke."),
        ("note", "ø" * 1001, "Skriv højst 1000 tegn."),
    ],
)
def test_an_invalid_order_shows_the_form_again_and_stores_nothing(
    client, db, field, value, message
):
    response = submit(client, "/pjecer/", VALID_ORDER, **{field: value})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Der er et problem" in html
    assert message in html
    # The summary links to the field, and the message sits beside it, tied by aria-describedby.
    assert f'href="#{field}"' in html
    assert f'id="{field}-error"' in html
    assert re.search(rf'aria-describedby="[^"]*{re.escape(field)}-error"', html)
    assert "<title>Fejl:" in html
    assert count(db) == 0
    assert count_jobs(db) == 0


def test_entered_values_are_kept_after_an_error(client):
    response = submit(client, "/pjecer/", VALID_ORDER, email="forkert")
    html = response.get_data(as_text=True)
    assert 'value="Boligselskabet Sønderå Ærø"' in html
    assert 'value="Søndergade 7, 1. sal"' in html
    assert 'value="25"' in html
    assert '<option selected value="492">Ærø</option>' in html  # the short name, in the list
    assert "Levér gerne før jul – tak!</textarea>" in html
    assert 'value="forkert"' in html


def test_a_valid_cvr_number_is_stored(client, db):
    assert submit(client, "/pjecer/", VALID_ORDER, cvr="13 58 56 28").status_code == 303
    assert db.scalars(select(Submission.cvr)).one() == "13585628"


def test_the_receipt_shows_the_reference_and_the_order(client, db):
    response = submit(client, "/pjecer/", VALID_ORDER)
    receipt = client.get(response.headers["Location"])
    html = receipt.get_data(as_text=True)
    submission = db.scalars(select(Submission)).one()

    assert receipt.status_code == 200
    assert submission.reference in html
    assert "25 stk. Kommunesamarbejde – Hvorfor og hvordan?" in html
    assert "Søndergade 7, 1. sal" in html
    assert "5970 Ærøskøbing" in html
    assert "Jens B. Hansen" in html  # Ærø is kreds 3
    assert receipt_token_from(response.headers["Location"]) not in (submission.reference, "")
