"""What staff sign-in keeps about people, and for how long: `intake purge` deletes sessions
that have ended and sign-in attempts older than 90 days; `intake person export` of a staff
address includes its sessions and the tries to sign in with it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select, update

from intake.models import SignInAttempt, StaffSession, utcnow
from tests.support.staff import OFFICE_EMAIL, sign_in


def test_purge_deletes_ended_sessions_and_old_attempts(app, client, staff_users, db):
    sign_in(client, OFFICE_EMAIL, "forkert-kodeord")
    sign_in(client, OFFICE_EMAIL)
    other = app.test_client()
    sign_in(other, OFFICE_EMAIL)
    now = utcnow()
    # One session idle for an hour (ended), one in use; one attempt from 91 days ago.
    first = db.scalars(select(StaffSession.id).order_by(StaffSession.id)).first()
    db.execute(
        update(StaffSession)
        .where(StaffSession.id == first)
        .values(last_seen_at=now - timedelta(hours=1))
    )
    oldest = db.scalars(select(SignInAttempt.id).order_by(SignInAttempt.id)).first()
    db.execute(
        update(SignInAttempt).where(SignInAttempt.id == oldest).values(at=now - timedelta(days=91))
    )
    db.commit()

    result = app.test_cli_runner().invoke(args=["intake", "purge"])

    assert result.exit_code == 0, result.output
    assert (
        "Removed 1 staff session(s) that had ended and 1 sign-in attempt(s) older than 90 days."
        in result.output
    )
    assert db.scalar(select(func.count()).select_from(StaffSession)) == 1
    assert db.scalar(select(func.count()).select_from(SignInAttempt)) == 2
    assert other.get("/admin/orders/").status_code == 200  # the session in use is left alone


def test_a_dry_run_keeps_them(app, client, staff_users, db):
    sign_in(client, OFFICE_EMAIL)
    db.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(hours=1)))
    db.commit()
    result = app.test_cli_runner().invoke(args=["intake", "purge", "--dry-run"])
    assert "staff session" not in result.output
    assert db.scalar(select(func.count()).select_from(StaffSession)) == 1


def test_a_staff_export_holds_sessions_and_attempts_but_no_secrets(app, client, staff_users):
    sign_in(client, OFFICE_EMAIL, "forkert-kodeord")
    sign_in(client, OFFICE_EMAIL)
    result = app.test_cli_runner().invoke(args=["intake", "person", "export", "it@bl.dk"])
    account = json.loads(result.output)["staff_account"]
    assert account["second_factor_since"] is not None
    assert "totp_secret" not in result.output and "password_hash" not in result.output

    result = app.test_cli_runner().invoke(args=["intake", "person", "export", OFFICE_EMAIL])
    account = json.loads(result.output)["staff_account"]
    assert [a["outcome"] for a in account["sign_in_attempts"]] == ["wrong_password", "ok"]
    assert {a["address"] for a in account["sign_in_attempts"]} == {"127.0.0.1"}
    (session,) = account["sessions"]
    assert session["address"] == "127.0.0.1" and session["user_agent"].startswith("Werkzeug")
