"""`intake users …`: list, passwd, disable, enable, sign-out-all, reset-totp; what they print
(in English, for BL's IT), what they refuse, and the audit log. What they do to sessions in
browsers is in test_staff_sessions.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.models import AuditEvent, StaffUser
from tests.support.staff import ADMIN_EMAIL, OFFICE_EMAIL, sign_in


def run(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["intake", "users", *args], input=input)


def test_list_shows_every_account(app, staff_users, client):
    assert sign_in(client, OFFICE_EMAIL).status_code == 302
    run(app, "disable", ADMIN_EMAIL)
    result = run(app, "list")
    assert result.exit_code == 0, result.output
    header, office, admin = result.output.splitlines()  # by e-mail
    assert header.split() == [
        "E-MAIL",
        "ROLE",
        "STATE",
        "TOTP",
        "LAST",
        "SIGN-IN",
        "(UTC)",
        "SESSIONS",
    ]
    assert admin.split()[:4] == [ADMIN_EMAIL, "admin", "disabled", "on"]
    assert admin.split()[-2:] == ["never", "0"]
    assert office.split()[:4] == [OFFICE_EMAIL, "office", "active", "off"]
    assert office.split()[-1] == "1"  # signed in in one browser


def test_list_with_no_accounts_says_how_to_make_one(app):
    result = run(app, "list")
    assert result.exit_code == 0
    assert "No staff accounts yet" in result.output


@pytest.mark.parametrize(
    "command", [["passwd"], ["disable"], ["enable"], ["sign-out-all"], ["reset-totp"]]
)
def test_an_unknown_e_mail_changes_nothing(app, staff_users, db, command):
    result = run(app, *command, "ukendt@bl.dk", input="et-langt-nyt-kodeord\n")
    assert result.exit_code == 1
    assert "No staff account for ukendt@bl.dk." in result.output
    assert db.scalars(select(AuditEvent)).all() == []


def test_passwd_refuses_a_short_password_and_keeps_the_old(app, staff_users, db, client):
    result = run(app, "passwd", OFFICE_EMAIL, input="kort\n")
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    assert sign_in(client, OFFICE_EMAIL).status_code == 302


def test_passwd_never_prints_the_password(app, staff_users):
    result = run(app, "passwd", "BWJ@bl.dk", input="et-hemmeligt-kodeord-ø\n")
    assert result.exit_code == 0, result.output
    assert "Changed the password of bwj@bl.dk; ended 0 sessions." in result.output
    assert "hemmeligt" not in result.output


def test_every_command_is_in_the_audit_log(app, staff_users, db):
    for args in (
        ["passwd", OFFICE_EMAIL],
        ["disable", OFFICE_EMAIL],
        ["enable", OFFICE_EMAIL],
        ["sign-out-all", OFFICE_EMAIL],
        ["reset-totp", ADMIN_EMAIL],
    ):
        assert run(app, *args, input="et-langt-nyt-kodeord\n").exit_code == 0, args
    events = db.execute(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.detail).order_by(AuditEvent.id)
    ).all()
    assert events == [
        ("cli", "user_password_changed", OFFICE_EMAIL),
        ("cli", "user_disabled", OFFICE_EMAIL),
        ("cli", "user_enabled", OFFICE_EMAIL),
        ("cli", "user_signed_out_everywhere", OFFICE_EMAIL),
        ("cli", "user_totp_reset", ADMIN_EMAIL),
    ]


def test_reset_totp_forgets_the_authenticator(app, staff_users, db):
    result = run(app, "reset-totp", ADMIN_EMAIL)
    assert result.exit_code == 0
    admin = db.scalars(select(StaffUser).where(StaffUser.email == ADMIN_EMAIL)).one()
    assert admin.totp_secret is None and admin.totp_last_step is None
