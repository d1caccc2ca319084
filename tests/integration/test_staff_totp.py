"""The second factor, over real HTTP: an admin enrols an authenticator app at the first
sign-in (a QR code drawn here as SVG, the secret as text, recovery codes), then signs in with
its codes; a password alone never opens a page to an account that needs a code.

Codes come from pyotp, from the secret as the page shows it (or, for the fixtures' admin, as
its authenticator holds it). That the QR code carries the same secret is read back from
Chromium's screenshot in tests/browser/test_totp_browser.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from intake.models import AuditEvent, StaffRole, StaffSession, StaffUser, utcnow
from intake.staff import accounts
from tests.support.staff import (
    ADMIN_EMAIL,
    CODE_PAGE,
    ENROL_PAGE,
    OFFICE_EMAIL,
    STAFF_PASSWORD,
    authenticator_code,
    enrol,
    sign_in,
)
from tests.support.visitor import Visitor

NEW_ADMIN = "lise@bl.dk"
ADMIN_PAGES = ["/admin/orders/", "/admin/deliveries/", "/admin/overview", "/admin/account"]
_CODE = re.compile(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>")


@pytest.fixture
def new_admin(app: Flask) -> str:
    """An admin who has not enrolled an authenticator yet."""
    with app.extensions["intake"].database.sessionmaker() as session:
        accounts.create(session, NEW_ADMIN, STAFF_PASSWORD, StaffRole.ADMIN)
        session.commit()
    return NEW_ADMIN


def _sent_to_sign_in(response: Any) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def _no_page_opens(browser: Visitor) -> None:
    for path in ADMIN_PAGES:
        assert _sent_to_sign_in(browser.get(path)), path


def test_an_admin_enrols_an_authenticator_at_the_first_sign_in(live_server, new_admin, db):
    browser = Visitor(live_server)
    password_only = browser.sign_in(new_admin, next="/admin/deliveries/")
    assert password_only.status_code == 302
    assert password_only.headers["Location"].startswith(ENROL_PAGE)
    _no_page_opens(browser)  # the password alone opens nothing

    page = browser.get(password_only.headers["Location"])
    assert page.status_code == 200
    html = page.text
    assert '<svg width="' in html and 'class="qr-code"' in html  # drawn here, inline
    assert "<script" not in html and "http" not in html.split("<svg", 1)[1].split("</svg>")[0]
    assert f"BL Intake ({new_admin})" in html and "Tidsbaseret (TOTP)" in html

    wrong = browser.submit(password_only.headers["Location"], code="000000")
    assert wrong.status_code == 200 and "Koden passer ikke." in wrong.text
    _no_page_opens(browser)

    done, secret = browser.enrol(password_only.headers["Location"])
    assert done.status_code == 200
    codes = _CODE.findall(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "De vises\n    ikke igen." in done.text or "De vises ikke igen." in done.text
    assert 'href="/admin/deliveries/"' in done.text  # on to where the admin was going
    assert browser.get("/admin/deliveries/").status_code == 200

    user = db.scalars(select(StaffUser).where(StaffUser.email == new_admin)).one()
    assert user.totp_secret == secret and user.totp_enabled_at is not None
    assert "totp_enrolled" in db.scalars(select(AuditEvent.action)).all()


def test_the_next_sign_in_asks_for_a_code_that_is_taken_once(app, live_server, staff_users):
    first = Visitor(live_server)
    password_ok = first.sign_in(ADMIN_EMAIL)
    assert password_ok.headers["Location"].startswith(CODE_PAGE)
    _no_page_opens(first)
    code = authenticator_code(app, ADMIN_EMAIL)
    assert first.submit(password_ok.headers["Location"], code=code).status_code == 302
    assert first.get("/admin/deliveries/").status_code == 200

    # The same code, seen over a shoulder and typed at once elsewhere, is refused.
    second = Visitor(live_server, "127.0.0.2")
    location = second.sign_in(ADMIN_EMAIL).headers["Location"]
    replayed = second.submit(location, code=code)
    assert replayed.status_code == 200 and "Koden passer ikke." in replayed.text
    _no_page_opens(second)


def test_a_recovery_code_signs_in_once(app, live_server, new_admin):
    browser = Visitor(live_server)
    done, _ = browser.enrol(browser.sign_in(new_admin).headers["Location"])
    codes = _CODE.findall(done.text)
    browser.post("/admin/logout", {"csrf_token": browser.token("/admin/orders/")})

    location = browser.sign_in(new_admin).headers["Location"]
    used = browser.submit(location, code=codes[3].upper().replace("-", " "))  # as typed
    assert used.status_code == 302
    assert "Du har 9 tilbage" in browser.get("/admin/orders/").text
    browser.post("/admin/logout", {"csrf_token": browser.token("/admin/orders/")})

    location = browser.sign_in(new_admin).headers["Location"]
    again = browser.submit(location, code=codes[3])
    assert again.status_code == 200 and "Koden passer ikke." in again.text


def test_too_many_wrong_codes_start_the_sign_in_again(live_server, staff_users, db):
    browser = Visitor(live_server)
    location = browser.sign_in(ADMIN_EMAIL).headers["Location"]
    for _ in range(4):
        assert "Koden passer ikke." in browser.submit(location, code="123456").text
    fifth = browser.submit(location, code="123456")
    assert "Der har været for mange forkerte forsøg." in fifth.text
    assert _sent_to_sign_in(browser.get(location))
    assert db.scalar(select(StaffSession.id)) is None


def test_a_half_done_sign_in_runs_out_after_ten_minutes(app, live_server, staff_users, db):
    browser = Visitor(live_server)
    location = browser.sign_in(ADMIN_EMAIL).headers["Location"]
    token = browser.token(location)  # the code page, left open
    db.execute(update(StaffSession).values(created_at=utcnow() - timedelta(minutes=10)))
    db.commit()
    late = browser.post(
        location, {"csrf_token": token, "code": authenticator_code(app, ADMIN_EMAIL)}
    )
    assert _sent_to_sign_in(late)
    assert "Log ind med din e-mail og adgangskode." in browser.get("/admin/login").text
    _no_page_opens(browser)


def test_new_recovery_codes_void_the_old_ones(live_server, new_admin):
    browser = Visitor(live_server)
    done, _ = browser.enrol(browser.sign_in(new_admin).headers["Location"])
    old = _CODE.findall(done.text)
    fresh = browser.post(
        "/admin/account/recovery-codes", {"csrf_token": browser.token("/admin/account")}
    )
    new = _CODE.findall(fresh.text)
    assert len(new) == 10 and not set(new) & set(old)
    assert "Dine tidligere gendannelseskoder virker ikke længere." in fresh.text
    browser.post("/admin/logout", {"csrf_token": browser.token("/admin/orders/")})
    location = browser.sign_in(new_admin).headers["Location"]
    assert browser.submit(location, code=old[0]).status_code == 200
    assert browser.submit(location, code=new[0]).status_code == 302


def _client_with(build_app: Any, require: str, email: str, role: StaffRole) -> Any:
    """A test client of an app with INTAKE_REQUIRE_TOTP=`require` and one account, no TOTP."""
    app = build_app(INTAKE_REQUIRE_TOTP=require)
    with app.extensions["intake"].database.sessionmaker() as session:
        accounts.create(session, email, STAFF_PASSWORD, role)
        session.commit()
    return app.test_client()


def test_require_totp_none_lets_an_admin_in_with_the_password(build_app):
    client = _client_with(build_app, "none", NEW_ADMIN, StaffRole.ADMIN)
    assert sign_in(client, NEW_ADMIN).headers["Location"] == "/admin/orders/"
    assert client.get("/admin/deliveries/").status_code == 200


def test_require_totp_all_makes_the_office_enrol_too(build_app):
    client = _client_with(build_app, "All", OFFICE_EMAIL, StaffRole.OFFICE)
    assert sign_in(client, OFFICE_EMAIL).headers["Location"] == ENROL_PAGE
    assert client.get("/admin/orders/").status_code == 302
    assert enrol(client)[0].status_code == 200
    assert client.get("/admin/orders/").status_code == 200


def test_a_session_without_a_code_ends_when_a_code_becomes_required(build_app):
    client = _client_with(build_app, "none", NEW_ADMIN, StaffRole.ADMIN)
    sign_in(client, NEW_ADMIN)
    assert client.get("/admin/deliveries/").status_code == 200
    strict = build_app(INTAKE_REQUIRE_TOTP="admin")  # the same database and cookie
    strict_client = strict.test_client()
    strict_client.set_cookie("session", client.get_cookie("session").value)
    assert strict_client.get("/admin/deliveries/").status_code == 302


def test_an_unknown_requirement_stops_the_app(build_app):
    with pytest.raises(RuntimeError, match="INTAKE_REQUIRE_TOTP is 'sometimes'"):
        build_app(INTAKE_REQUIRE_TOTP="sometimes")
