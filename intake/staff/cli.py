"""`flask --app wsgi intake users …`: back-office staff accounts.

Every command that changes an account is written to the audit log (actor `cli`). Those that
take something away (a new password, disabling, a reset second factor, sign-out-all) end the
account's sessions at once: a browser signed in before is signed out at its next click.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from intake import audit
from intake.models import StaffRole, StaffUser, utcnow
from intake.staff import accounts, recovery_codes, sessions, totp
from intake.state import current_intake

users_cli = AppGroup("users", help="Back-office staff.")


def _read_password() -> str:
    """Asked for twice on a terminal; else the first line of standard input. Never an
    argument: it would stay in the shell's history and in `ps`."""
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\n")


@contextmanager
def _account(email: str) -> Iterator[tuple[Session, StaffUser]]:
    """The account of `email` in a session of its own; exit status 1 when there is none."""
    with current_intake().database.sessionmaker() as session:
        user = accounts.find(session, email)
        if user is None:
            raise click.ClickException(f"No staff account for {email}.")
        yield session, user


def _sessions_ended(count: int) -> str:
    return f"ended {count} session{'' if count == 1 else 's'}"


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in StaffRole]),
    required=True,
    help="office: orders, catalogue, overview; admin: everything.",
)
def users_create(email: str, role: str) -> None:
    """Create a staff user; the password is asked for (read from stdin when not a terminal)."""
    password = _read_password()
    with current_intake().database.sessionmaker() as session:
        try:
            user = accounts.create(session, email, password, StaffRole(role))
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        audit.record(session, "cli", "user_created", detail=f"{user.email} ({role})")
        session.commit()
    click.echo(f"Created {user.email} with the role {role}.")
    if totp.required_for(StaffRole(role), current_app.config["INTAKE_REQUIRE_TOTP"]):
        click.echo("At the first sign-in they enrol an authenticator app (TOTP).")


@users_cli.command("list")
def users_list() -> None:
    """Every staff account: role, state, second factor, last sign-in, sessions open now."""
    setting = current_app.config["INTAKE_REQUIRE_TOTP"]
    limits = sessions.Limits.from_config(current_app.config)
    now = utcnow()
    with current_intake().database.sessionmaker() as session:
        users = accounts.every(session)
        if not users:
            click.echo("No staff accounts yet: `intake users create EMAIL --role admin`.")
            return
        rows = [("E-MAIL", "ROLE", "STATE", "TOTP", "LAST SIGN-IN (UTC)", "SESSIONS")]
        for user in users:
            if user.totp_secret is not None:
                second = "on"
            else:
                second = "to enrol" if totp.required_for(user.role, setting) else "off"
            last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
            open_now = len(sessions.active(session, user, now, limits))
            state = "active" if user.active else "disabled"
            rows.append((user.email, user.role.value, state, second, last, str(open_now)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        )


@users_cli.command("passwd")
@click.argument("email")
def users_passwd(email: str) -> None:
    """Set a new password (asked for, or read from stdin); ends the account's sessions."""
    password = _read_password()
    with _account(email) as (session, user):
        try:
            accounts.set_password(user, password)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        ended = sessions.end_all(session, user)
        audit.record(session, "cli", "user_password_changed", detail=user.email)
        session.commit()
        click.echo(f"Changed the password of {user.email}; {_sessions_ended(ended)}.")


@users_cli.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable an account: it cannot sign in, and its sessions end now."""
    with _account(email) as (session, user):
        user.active = False
        ended = sessions.end_all(session, user)
        audit.record(session, "cli", "user_disabled", detail=user.email)
        session.commit()
        click.echo(f"Disabled {user.email}; {_sessions_ended(ended)}.")


@users_cli.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Enable a disabled account again."""
    with _account(email) as (session, user):
        user.active = True
        audit.record(session, "cli", "user_enabled", detail=user.email)
        session.commit()
        click.echo(f"Enabled {user.email}: they can sign in again.")


@users_cli.command("sign-out-all")
@click.argument("email")
def users_sign_out_all(email: str) -> None:
    """End every session of the account, in every browser, now."""
    with _account(email) as (session, user):
        ended = sessions.end_all(session, user)
        audit.record(session, "cli", "user_signed_out_everywhere", detail=user.email)
        session.commit()
        click.echo(f"Signed {user.email} out everywhere: {_sessions_ended(ended)}.")


@users_cli.command("reset-totp")
@click.argument("email")
def users_reset_totp(email: str) -> None:
    """Forget the account's authenticator app and recovery codes (a lost phone); ends its
    sessions. It enrols a new app at its next sign-in when a second factor is required."""
    setting = current_app.config["INTAKE_REQUIRE_TOTP"]
    with _account(email) as (session, user):
        totp.disable(user)
        recovery_codes.delete_all(session, user)
        ended = sessions.end_all(session, user)
        audit.record(session, "cli", "user_totp_reset", detail=user.email)
        session.commit()
        then = (
            "they enrol a new authenticator app at their next sign-in"
            if totp.required_for(user.role, setting)
            else f"they sign in with the password alone (INTAKE_REQUIRE_TOTP={setting})"
        )
        click.echo(f"Reset the second factor of {user.email}; {_sessions_ended(ended)}; {then}.")
