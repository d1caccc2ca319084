"""Staff sessions the server can end, over real HTTP (the app on a loopback port, `requests`
as the browser): sign-out, idle and absolute timeouts, new cookies and CSRF tokens at sign-in
and sign-out, and the commands and button that sign an account out everywhere.

Time is moved by moving the session's own timestamps back in the database, never by waiting.
This module's sessions last 5 idle minutes and 2 hours in all (the defaults, 30 and 12: in
test_backoffice_auth.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.models import AuditEvent, StaffSession, utcnow
from tests.support.staff import ADMIN_EMAIL, ENROL_PAGE, OFFICE_EMAIL, STAFF_PASSWORD
from tests.support.visitor import Visitor

NEW_PASSWORD = "et-helt-nyt-kodeord-æøå"


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    config.update(INTAKE_STAFF_IDLE_MINUTES=5, INTAKE_STAFF_SESSION_HOURS=2)
    return config


def _sent_to_sign_in(response: Any) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def _age_sessions(db: Session, **ago: timedelta) -> None:
    """Move every session's timestamps back by the given amounts (as if time had passed)."""
    now = utcnow()
    db.execute(update(StaffSession).values({column: now - age for column, age in ago.items()}))
    db.commit()


def test_a_cookie_saved_before_sign_out_opens_nothing_afterwards(live_server, staff_users):
    browser = Visitor(live_server)
    assert browser.sign_in(OFFICE_EMAIL).status_code == 302
    saved = browser.cookies()  # copied, as an attacker with the machine would
    # The copy works while the session lasts (same address and browser: nothing else differs).
    replay = Visitor(live_server)
    replay.http.cookies.update(saved)
    assert replay.get("/admin/orders/").status_code == 200

    signed_out = browser.post("/admin/logout", {"csrf_token": browser.token("/admin/orders/")})
    assert _sent_to_sign_in(signed_out)

    again = Visitor(live_server)
    again.http.cookies.update(saved)
    assert _sent_to_sign_in(again.get("/admin/orders/"))
    assert _sent_to_sign_in(again.get("/admin/orders/"))
    assert not browser.signed_in()


def test_sign_out_ends_only_that_session(live_server, staff_users):
    at_work, at_home = Visitor(live_server), Visitor(live_server, "127.0.0.2")
    for browser in (at_work, at_home):
        assert browser.sign_in(OFFICE_EMAIL).status_code == 302
    at_work.post("/admin/logout", {"csrf_token": at_work.token("/admin/orders/")})
    assert not at_work.signed_in()
    assert at_home.signed_in()


def test_an_idle_session_ends_and_says_so(live_server, staff_users, db):
    browser = Visitor(live_server)
    browser.sign_in(OFFICE_EMAIL)
    _age_sessions(db, last_seen_at=timedelta(minutes=4))
    assert browser.get("/admin/orders/").status_code == 200  # used: idle time starts again
    assert db.scalar(select(StaffSession.last_seen_at)) > utcnow() - timedelta(minutes=1)

    _age_sessions(db, last_seen_at=timedelta(minutes=5, seconds=1))
    ended = browser.get("/admin/orders/")
    assert _sent_to_sign_in(ended)
    page = browser.get(ended.headers["Location"]).text
    assert "Du er blevet logget ud. Log ind igen for at fortsætte." in page


def test_a_session_ends_after_its_hours_however_busy(live_server, staff_users, db):
    browser = Visitor(live_server)
    browser.sign_in(OFFICE_EMAIL)
    _age_sessions(db, created_at=timedelta(hours=1, minutes=59))
    assert browser.get("/admin/orders/").status_code == 200
    _age_sessions(db, created_at=timedelta(hours=2, seconds=1))
    assert _sent_to_sign_in(browser.get("/admin/orders/"))  # last seen a moment ago


def test_sign_in_and_sign_out_renew_the_cookie_and_the_csrf_token(live_server, staff_users):
    browser = Visitor(live_server)
    anonymous_token = browser.token("/admin/login")
    anonymous_cookie = browser.cookies()["session"]
    assert browser.sign_in(OFFICE_EMAIL).status_code == 302
    assert browser.cookies()["session"] != anonymous_cookie
    # The token from before sign-in is refused now; the new one is taken.
    stale = browser.post("/admin/logout", {"csrf_token": anonymous_token})
    assert stale.status_code == 400 and browser.signed_in()
    signed_in_token = browser.token("/admin/orders/")
    assert browser.post("/admin/logout", {"csrf_token": signed_in_token}).status_code == 302
    # After sign-out the signed-in token is refused too: the sign-in form comes back, 400.
    refused = browser.post(
        "/admin/login",
        {"csrf_token": signed_in_token, "email": OFFICE_EMAIL, "password": STAFF_PASSWORD},
    )
    assert refused.status_code == 400 and not browser.signed_in()


@pytest.mark.parametrize("command", ["passwd", "disable", "sign-out-all"])
def test_the_commands_sign_an_account_out_everywhere_at_once(
    app, live_server, staff_users, db, command
):
    office = [Visitor(live_server, f"127.0.0.{n}") for n in (2, 3)]
    for browser in office:
        assert browser.sign_in(OFFICE_EMAIL).status_code == 302
    admin = Visitor(live_server, "127.0.0.4")
    assert admin.sign_in(ADMIN_EMAIL, app=app).status_code == 302

    result = app.test_cli_runner().invoke(
        args=["intake", "users", command, OFFICE_EMAIL], input=NEW_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "ended 2 sessions" in result.output

    for browser in office:
        assert _sent_to_sign_in(browser.get("/admin/orders/"))
    assert admin.signed_in()  # another account's session is left alone
    audited = db.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.detail)).all()
    action = {
        "passwd": "user_password_changed",
        "disable": "user_disabled",
        "sign-out-all": "user_signed_out_everywhere",
    }[command]
    assert ("cli", action, OFFICE_EMAIL) in audited


def test_a_new_password_replaces_the_old(app, live_server, staff_users):
    runner = app.test_cli_runner()
    runner.invoke(args=["intake", "users", "passwd", OFFICE_EMAIL], input=NEW_PASSWORD + "\n")
    browser = Visitor(live_server)
    assert browser.sign_in(OFFICE_EMAIL).status_code == 200  # the old one: not signed in
    assert browser.sign_in(OFFICE_EMAIL, NEW_PASSWORD).status_code == 302


def test_a_disabled_account_cannot_sign_in_until_enabled(app, live_server, staff_users):
    runner = app.test_cli_runner()
    runner.invoke(args=["intake", "users", "disable", OFFICE_EMAIL])
    browser = Visitor(live_server)
    refused = browser.sign_in(OFFICE_EMAIL)
    assert refused.status_code == 200 and "Forkert e-mail eller adgangskode." in refused.text
    runner.invoke(args=["intake", "users", "enable", OFFICE_EMAIL])
    assert browser.sign_in(OFFICE_EMAIL).status_code == 302


def test_reset_totp_ends_the_sessions_and_the_next_sign_in_enrols_again(
    app, live_server, staff_users
):
    browser = Visitor(live_server)
    assert browser.sign_in(ADMIN_EMAIL, app=app).status_code == 302
    result = app.test_cli_runner().invoke(args=["intake", "users", "reset-totp", ADMIN_EMAIL])
    assert result.exit_code == 0, result.output
    assert "they enrol a new authenticator app at their next sign-in" in result.output
    assert _sent_to_sign_in(browser.get("/admin/deliveries/"))
    again = browser.sign_in(ADMIN_EMAIL)
    assert again.headers["Location"] == ENROL_PAGE


def test_sign_out_everywhere_from_the_account_page(live_server, staff_users, db):
    here, there = Visitor(live_server), Visitor(live_server, "127.0.0.2")
    for browser in (here, there):
        browser.sign_in(OFFICE_EMAIL)
    page = here.get("/admin/account").text
    assert "127.0.0.2" in page and "(denne)" in page  # both sessions, this one marked
    token = here.token("/admin/account")
    answer = here.post("/admin/account/sign-out-everywhere", {"csrf_token": token})
    assert answer.headers["Location"] == "/admin/login"
    assert "Du er logget ud alle steder, også her." in here.get("/admin/login").text
    assert not here.signed_in() and not there.signed_in()
    assert db.scalar(select(StaffSession.id)) is None
