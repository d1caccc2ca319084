"""A script in every free-text field of both forms stays text wherever it is shown: the form
shown again with errors, the receipt, every e-mail (HTML escaped, plain text as typed) and the
back office. Each place is checked for the fields it shows, so a field that starts to be
shown somewhere without escaping fails here."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from intake.delivery.worker import Worker
from intake.models import Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.settings import send_mail_to

CONTACT_FIELDS = ["organisation", "first_name", "last_name", "role"]
# The free-text fields that are stored as typed. (The city is the postcode's town from the
# list once stored; as typed, it is only shown again on the form, beside its error.)
FIELDS = {
    "/pjecer/": [*CONTACT_FIELDS, "street", "attention", "note"],
    "/opstartshjaelp/": [*CONTACT_FIELDS, "participants", "message"],
}
VALID = {"/pjecer/": VALID_ORDER, "/opstartshjaelp/": VALID_HELP}


def payload(field: str) -> str:
    """Closes an attribute and opens a script; names its field so a leak says where from."""
    return f'"><script>{field}</script>'


def escaped(field: str) -> str:
    return f"&#34;&gt;&lt;script&gt;{field}&lt;/script&gt;"


def hostile(path: str) -> dict[str, Any]:
    return {**VALID[path], **{field: payload(field) for field in FIELDS[path]}}


def shown_escaped(html: str, path: str) -> set[str]:
    """The fields this HTML shows; fails on any that it shows unescaped."""
    leaked = [field for field in FIELDS[path] if f"<script>{field}</script>" in html]
    assert not leaked, f"unescaped: {leaked}"
    return {field for field in FIELDS[path] if escaped(field) in html}


@pytest.fixture
def config(config, smtp):
    return send_mail_to(config, smtp)


@pytest.mark.parametrize("path", list(FIELDS))
def test_the_form_shown_again_keeps_every_value_as_text(client, db, path):
    response = submit(client, path, hostile(path), email="forkert", city=payload("city"))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert shown_escaped(html, path) == set(FIELDS[path])
    if path == "/pjecer/":
        assert "<script>city</script>" not in html and escaped("city") in html
    assert db.scalar(select(Submission.id)) is None


ORDER_FIELDS = FIELDS["/pjecer/"]
HELP_FIELDS = FIELDS["/opstartshjaelp/"]
ORDERER_SEES = ["organisation", "first_name", "street", "attention"]
# Per form: who receives an e-mail, and the fields it shows (in HTML and in plain text alike).
E_MAILS = {
    "/pjecer/": {
        "bwj@bl.dk": ORDER_FIELDS,  # the pamphlet office: the whole order, ready to pack
        "jbh@bl.dk": CONTACT_FIELDS,  # the consultant: who to follow up
        "aase.boegh@xn--snder-qra2k.dk": ORDERER_SEES,  # the receipt
    },
    "/opstartshjaelp/": {
        "jbh@bl.dk": HELP_FIELDS,
        # The receipt names the organisation it asks for.
        "aase.boegh@xn--snder-qra2k.dk": ["organisation", "first_name", "participants", "message"],
    },
}


@pytest.mark.parametrize("path", list(FIELDS))
def test_receipt_and_e_mails_show_every_value_as_text(app, client, db, smtp, path):
    response = submit(client, path, hostile(path))
    assert response.status_code == 303
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    Worker(app).run_once()

    assert shown_escaped(receipt, path) == set(FIELDS[path])
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(E_MAILS[path])
    for received in smtp.messages:
        expected = set(E_MAILS[path][received.rcpt_tos[0]])
        assert shown_escaped(received.body("html"), path) == expected, received.rcpt_tos
        plain = received.body("plain")
        assert {f for f in FIELDS[path] if payload(f) in plain} == expected, received.rcpt_tos


def test_the_back_office_shows_every_value_as_text(office, admin, db):
    path = "/pjecer/"
    assert submit(office, path, hostile(path)).status_code == 303
    reference = db.scalar(select(Submission.reference))

    listed = office.get("/admin/orders/").get_data(as_text=True)
    assert shown_escaped(listed, path) == {"organisation"}
    for page in (f"/admin/orders/{reference}", f"/admin/orders/{reference}/slip", "/admin/slips"):
        html = office.get(page).get_data(as_text=True)
        assert shown_escaped(html, path) == set(ORDER_FIELDS), page
    for page in ("/admin/deliveries/", "/admin/overview"):
        html = admin.get(page).get_data(as_text=True)
        assert reference in html or page == "/admin/overview", page
        assert shown_escaped(html, path) == set(), page
