"""Sign-in that neither tells nor locks out, over real HTTP from several loopback addresses
(127.0.0.2, 127.0.0.3 …: each a visitor of its own).

The attack as it was run: five wrong passwords for the pamphlet office from one address used
to lock the real account for 15 minutes, for everybody, and its answers told real accounts
from unknown ones. Now throttling holds back that account from that address only, and an
unknown e-mail, a wrong password and a throttled account get the same page, status and work.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from werkzeug import security

from intake.models import SignInAttempt, SignInOutcome, utcnow
from intake.staff import accounts
from tests.support.staff import OFFICE_EMAIL
from tests.support.visitor import Visitor

WRONG = "forkert-kodeord"
ATTACKER, OWNER = "127.0.0.2", "127.0.0.3"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    """The per-address limit on sign-in posts (10 a minute, tested in test_backoffice_auth.py)
    out of the way: these tests are about the throttle per account and address."""
    config["INTAKE_LOGIN_RATE_LIMIT"] = "1000 per minute"
    return config


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The password hashes the sign-in computes (werkzeug's own function, counted)."""
    seen: list[str] = []
    real = security.check_password_hash

    def counted(pwhash: str, password: str) -> bool:
        seen.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counted)
    return seen


def _page(response: Any) -> str:
    """The page without what differs on every answer (the CSRF token, the request id)."""
    return re.sub(r'value="[^"]*"', 'value=""', response.text)


def test_five_wrong_passwords_from_one_address_do_not_stop_the_owner_elsewhere(
    live_server, staff_users
):
    attacker = Visitor(live_server, ATTACKER)
    for _ in range(5):
        assert attacker.sign_in(OFFICE_EMAIL, WRONG).status_code == 200
    held_back = attacker.sign_in(OFFICE_EMAIL)  # even the right password, from there
    assert held_back.status_code == 200 and not attacker.signed_in()

    owner = Visitor(live_server, OWNER)
    signed_in = owner.sign_in(OFFICE_EMAIL)
    assert signed_in.status_code == 302 and owner.signed_in()


def test_unknown_wrong_and_throttled_get_the_same_page_status_and_work(
    live_server, staff_users, db, hashes
):
    storm = Visitor(live_server, ATTACKER)
    for _ in range(5):
        storm.sign_in(OFFICE_EMAIL, WRONG)
    answers = {}
    for case, (address, email, password) in {
        "unknown e-mail": ("127.0.0.4", "ukendt@bl.dk", WRONG),
        "wrong password": ("127.0.0.5", OFFICE_EMAIL, WRONG),
        "throttled, right password": (ATTACKER, OFFICE_EMAIL, "et-langt-kodeord-med-æøå"),
    }.items():
        hashes.clear()
        answers[case] = Visitor(live_server, address).sign_in(email, password)
        assert len(hashes) == 1, f"{case}: {len(hashes)} password hashes"
    statuses = {case: response.status_code for case, response in answers.items()}
    assert set(statuses.values()) == {200}, statuses
    pages = {_page(response) for response in answers.values()}
    assert len(pages) == 1
    assert "Forkert e-mail eller adgangskode." in pages.pop()
    outcomes = db.scalars(select(SignInAttempt.outcome).order_by(SignInAttempt.id)).all()[-3:]
    assert outcomes == [
        SignInOutcome.UNKNOWN_ACCOUNT,
        SignInOutcome.WRONG_PASSWORD,
        SignInOutcome.THROTTLED,
    ]


def test_unknown_e_mails_are_throttled_the_same_way(live_server, staff_users):
    visitor = Visitor(live_server, ATTACKER)
    for email in ("ukendt@bl.dk", OFFICE_EMAIL):
        for _ in range(5):
            visitor.sign_in(email, WRONG)
    unknown = visitor.sign_in("ukendt@bl.dk", WRONG)
    real = visitor.sign_in(OFFICE_EMAIL, WRONG)
    assert _page(unknown) == _page(real) and unknown.status_code == real.status_code == 200


def test_the_throttle_lifts_when_the_failures_are_old_enough(live_server, staff_users, db):
    visitor = Visitor(live_server, ATTACKER)
    for _ in range(5):
        visitor.sign_in(OFFICE_EMAIL, WRONG)
    assert visitor.sign_in(OFFICE_EMAIL).status_code == 200
    db.execute(update(SignInAttempt).values(at=utcnow() - timedelta(minutes=15, seconds=1)))
    db.commit()
    assert visitor.sign_in(OFFICE_EMAIL).status_code == 302


def test_the_owner_is_told_of_failed_tries_and_sees_them(live_server, staff_users):
    attacker = Visitor(live_server, ATTACKER)
    for _ in range(3):
        attacker.sign_in(OFFICE_EMAIL, WRONG)

    owner = Visitor(live_server, OWNER)
    assert owner.sign_in(OFFICE_EMAIL).status_code == 302
    landing = owner.get("/admin/orders/").text
    assert "har der været 3 mislykkede forsøg på at logge ind med din e-mail" in landing
    assert f"fra {ATTACKER}" in landing and "Din konto" in landing

    account = owner.get("/admin/account").text
    failures = account.split("Mislykkede forsøg på at logge ind")[1]
    assert failures.count(ATTACKER) == 3 and failures.count("Forkert adgangskode") == 3

    # Told once: the next sign-in has nothing new to tell.
    owner.post("/admin/logout", {"csrf_token": owner.token("/admin/orders/")})
    owner.sign_in(OFFICE_EMAIL)
    assert "mislykkede forsøg" not in owner.get("/admin/orders/").text


def test_a_next_with_a_line_break_goes_to_the_default_page(live_server, staff_users):
    browser = Visitor(live_server)
    response = browser.sign_in(OFFICE_EMAIL, next="/admin/orders/%0D%0ASet-Cookie:%20x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders/"
    assert "x" not in browser.cookies()
