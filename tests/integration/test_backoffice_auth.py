"""Back-office sign-in: passwords, throttling, rate limit, roles, and the users command."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from intake.models import (
    AuditEvent,
    SignInAttempt,
    SignInOutcome,
    StaffSession,
    StaffUser,
    utcnow,
)
from tests.support.staff import (
    ADMIN_EMAIL,
    ENROL_PAGE,
    OFFICE_EMAIL,
    STAFF_PASSWORD,
    enrol,
    sign_in,
)


def test_signing_in_and_out(client, staff_users, db):
    assert client.get("/admin/").headers["Location"].startswith("/admin/login")
    response = sign_in(client, OFFICE_EMAIL.upper())  # e-mail case does not matter
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders/"  # the waiting orders
    assert client.get("/admin/").headers["Location"] == "/admin/orders/"
    page = client.get("/admin/orders/").get_data(as_text=True)
    assert "bwj@bl.dk (pjeceekspedition)" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/orders/").status_code == 302
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["sign_in_ok", "sign_out"]


def test_the_password_is_stored_hashed(staff_users, db):
    user = db.scalars(select(StaffUser).where(StaffUser.email == OFFICE_EMAIL)).one()
    assert user.password_hash.startswith("scrypt:")
    assert STAFF_PASSWORD not in user.password_hash


@pytest.mark.parametrize("email", [OFFICE_EMAIL, "nobody@bl.dk"])
def test_a_wrong_password_or_unknown_user_get_the_same_answer(client, staff_users, email):
    response = sign_in(client, email, "forkert-kodeord")
    assert response.status_code == 200
    assert "Forkert e-mail eller adgangskode." in response.get_data(as_text=True)
    assert client.get("/admin/orders/").status_code == 302


def test_repeated_failures_throttle_the_account_from_that_address_only(
    client, app, staff_users, db
):
    for _ in range(5):
        sign_in(client, OFFICE_EMAIL, "forkert-kodeord")
    refused = sign_in(client, OFFICE_EMAIL)  # even the right password, from this address
    assert refused.status_code == 200
    assert "Forkert e-mail eller adgangskode." in refused.get_data(as_text=True)
    assert client.get("/admin/orders/").status_code == 302
    outcomes = db.scalars(select(SignInAttempt.outcome).order_by(SignInAttempt.id)).all()
    assert outcomes == [SignInOutcome.WRONG_PASSWORD] * 5 + [SignInOutcome.THROTTLED]
    assert "sign_in_throttled" in db.scalars(select(AuditEvent.action)).all()
    # From another address the account is not held back (the real person signs in).
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.20.30.40"
    assert sign_in(elsewhere, OFFICE_EMAIL).status_code == 302


def test_sign_in_posts_are_rate_limited_per_address(build_app, staff_users):
    app = build_app(INTAKE_LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    answers = [sign_in(client, "nobody@bl.dk", "x" * 12).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert "For mange forsøg" in sign_in(client, "nobody@bl.dk").get_data(as_text=True)


def test_a_post_without_csrf_is_refused(client, staff_users):
    response = client.post("/admin/login", data={"email": OFFICE_EMAIL, "password": STAFF_PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/orders/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/overview", "/admin/overview"),
        ("https://evil.example/", "/admin/orders/"),
        ("//evil.example/", "/admin/orders/"),
        ("/\\evil.example", "/admin/orders/"),
    ],
)
def test_next_only_goes_to_our_own_paths(client, staff_users, target, expected):
    response = sign_in(client, OFFICE_EMAIL, next=target)
    assert response.headers["Location"] == expected


def test_users_create_reads_the_password_from_stdin(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["intake", "users", "create", "Lise@BL.dk", "--role", "admin"],
        input="et-godt-langt-kodeord\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created lise@bl.dk with the role admin." in result.output
    assert "et-godt-langt-kodeord" not in result.output
    client = app.test_client()
    # An admin: the password, then enrolling an authenticator app (INTAKE_REQUIRE_TOTP=admin).
    first = sign_in(client, "lise@bl.dk", "et-godt-langt-kodeord")
    assert first.status_code == 302 and first.headers["Location"] == ENROL_PAGE
    assert enrol(client)[0].status_code == 200
    assert "lise@bl.dk (administrator)" in client.get("/admin/orders/").get_data(as_text=True)
    assert "At the first sign-in they enrol an authenticator app (TOTP)." in result.output

    again = runner.invoke(
        args=["intake", "users", "create", "lise@bl.dk", "--role", "office"],
        input="et-andet-langt-kodeord\n",
    )
    assert again.exit_code == 1 and "already has an account" in again.output
    short = runner.invoke(
        args=["intake", "users", "create", "kort@bl.dk", "--role", "office"], input="kort\n"
    )
    assert short.exit_code == 1 and "at least 12 characters" in short.output


def test_admin_signs_in_too(admin):
    assert "it@bl.dk (administrator)" in admin.get("/admin/orders/").get_data(as_text=True)


def test_an_unknown_role_is_refused_by_the_command(app):
    result = app.test_cli_runner().invoke(
        args=["intake", "users", "create", ADMIN_EMAIL, "--role", "boss"], input="x" * 12 + "\n"
    )
    assert result.exit_code == 2


def test_the_session_cookie_is_httponly_and_samesite(client, staff_users):
    response = sign_in(client, OFFICE_EMAIL)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_session_cookie_is_secure_outside_debug_and_testing(config, track_app, staff_users):
    from intake import create_app

    production = track_app(create_app({**config, "TESTING": False}))
    client = production.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"

    cookie = sign_in(client, OFFICE_EMAIL).headers["Set-Cookie"]

    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sessions_last_thirty_idle_minutes_and_twelve_hours_by_default(client, staff_users, db):
    assert sign_in(client, OFFICE_EMAIL).status_code == 302

    def age(**ago: timedelta) -> None:
        now = utcnow()
        db.execute(update(StaffSession).values({c: now - a for c, a in ago.items()}))
        db.commit()

    age(last_seen_at=timedelta(minutes=29), created_at=timedelta(hours=11, minutes=59))
    assert client.get("/admin/orders/").status_code == 200
    age(last_seen_at=timedelta(minutes=30, seconds=1))
    assert client.get("/admin/orders/").status_code == 302
    assert sign_in(client, OFFICE_EMAIL).status_code == 302
    age(created_at=timedelta(hours=12, seconds=1))
    assert client.get("/admin/orders/").status_code == 302
