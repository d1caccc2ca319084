"""The receipt page /kvittering/<token>: signed, and 404 for anything not ours."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from intake.models import Submission
from intake.tokens import RECEIPT_SALT
from tests.support.helpers import VALID_HELP, VALID_ORDER, receipt_token_from, submit
from tests.support.settings import TEST_SECRET


@pytest.fixture
def submission_token(client):
    return receipt_token_from(submit(client, "/opstartshjaelp/", VALID_HELP).headers["Location"])


def test_the_receipt_shows_what_was_received_and_who_will_call(client, db, submission_token):
    response = client.get(f"/kvittering/{submission_token}")
    html = response.get_data(as_text=True)
    reference = db.scalars(select(Submission.reference)).one()

    assert response.status_code == 200
    assert reference in html
    assert "Tak for din anmodning om hjælp" in html
    assert "Styringsdialog" in html and "Forsyning og takster" in html
    assert "Nej, ikke endnu" in html
    assert "Boligselskabet Sønderå Ærø" in html
    assert "aase.boegh@sønderå.dk" in html
    assert "Jens B. Hansen" in html and "jbh@bl.dk" in html


def test_the_receipt_says_what_happens_next_and_when(client, db):
    help_page = client.get(submit(client, "/opstartshjaelp/", VALID_HELP).headers["Location"])
    text = " ".join(help_page.get_data(as_text=True).split())
    assert "BL's kredskonsulent for Ærø Kommune kontakter dig inden for 3 arbejdsdage:" in text
    assert '<a href="tel:+4587331062">87 33 10 62</a>' in text
    assert "<dt>Kommune</dt><dd>Ærø Kommune</dd>" in text

    order_page = client.get(submit(client, "/pjecer/", VALID_ORDER).headers["Location"])
    text = " ".join(order_page.get_data(as_text=True).split())
    assert "Det sker normalt inden for 5 arbejdsdage." in text
    assert "skriv eller ring til BL's pjeceekspedition:" in text
    assert '<a href="tel:+4533762049">33 76 20 49</a>' in text  # the pamphlet office
    assert 'Telefon <a href="tel:+4533762040">33 76 20 40</a>' in text  # the orderer's own


@pytest.mark.parametrize(
    ("code", "official"), [("101", "Københavns Kommune"), ("400", "Bornholms Regionskommune")]
)
def test_the_receipt_names_the_municipality_officially(client, code, official):
    location = submit(client, "/opstartshjaelp/", VALID_HELP, municipality=code)
    html = client.get(location.headers["Location"]).get_data(as_text=True)
    assert f"BL's kredskonsulent for {official} kontakter dig" in html
    assert " Kommune Kommune" not in html and "København Kommune" not in html


def test_a_tampered_token_is_404(client, submission_token):
    tampered = submission_token[:-2] + ("AA" if not submission_token.endswith("AA") else "BB")
    response = client.get(f"/kvittering/{tampered}")
    assert response.status_code == 404
    assert "Siden findes ikke" in response.get_data(as_text=True)


def test_a_token_signed_with_another_key_is_404(client, db, submission_token):
    public_id = db.scalars(select(Submission.public_id)).one()
    foreign = URLSafeSerializer("another-site's-key", salt=RECEIPT_SALT).dumps(public_id)
    assert client.get(f"/kvittering/{foreign}").status_code == 404


def test_a_token_with_another_purpose_is_404(client, db, submission_token):
    public_id = db.scalars(select(Submission.public_id)).one()
    other_purpose = URLSafeSerializer(TEST_SECRET, salt="intake.form-shown").dumps(public_id)
    assert client.get(f"/kvittering/{other_purpose}").status_code == 404


def test_a_genuine_token_for_no_submission_is_404(client):
    token = URLSafeSerializer(TEST_SECRET, salt=RECEIPT_SALT).dumps("0" * 32)
    assert client.get(f"/kvittering/{token}").status_code == 404


def test_the_receipt_is_escaped(client):
    location = submit(
        client, "/opstartshjaelp/", VALID_HELP, organisation="<script>alert('ø')</script>"
    ).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;ø&#39;)&lt;/script&gt;" in html
