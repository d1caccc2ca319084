"""`flask --app wsgi intake users …`: back-office staff accounts."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from intake import audit
from intake.models import StaffRole
from intake.staff import accounts
from intake.state import current_intake

users_cli = AppGroup("users", help="Back-office staff.")


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
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    with current_intake().database.sessionmaker() as session:
        try:
            user = accounts.create(session, email, password, StaffRole(role))
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        audit.record(session, "cli", "user_created", detail=f"{user.email} ({role})")
        session.commit()
    click.echo(f"Created {user.email} with the role {role}.")
