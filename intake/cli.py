"""`flask --app wsgi intake …`: the project's command group, and `intake db upgrade`.

Each part of BL Intake adds its own commands (routing/cli.py, delivery/cli.py, staff/cli.py,
privacy/cli.py); intake.extension puts them in this group.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from intake import migrate
from intake.state import current_intake
from intake.web.error_pages import DATABASE_UNAVAILABLE


class IntakeGroup(AppGroup):
    """Every command: a database that is unreachable (or not migrated) is one line and exit
    code 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DATABASE_UNAVAILABLE as error:
            raise click.ClickException(database_problem(error)) from error


def database_problem(error: Exception) -> str:
    """What went wrong with the database, in one line for BL's IT."""
    cause = getattr(error, "orig", None) or error
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    sqlstate = str(getattr(cause, "sqlstate", None) or "")
    if sqlstate == "42P01" or reason.startswith("no such table"):
        return f"The database has no BL Intake tables yet ({reason}): run `intake db upgrade`."
    # PostgreSQL: no SQLSTATE when the connection failed; class 08 (connection) or 57P (the
    # server shutting down or starting). SQLite: the file cannot be opened.
    lost = sqlstate.startswith(("08", "57P")) or "unable to open database file" in reason
    if lost or (not sqlstate and "psycopg" in type(cause).__module__):
        return f"The database is not reachable: {reason}"
    return f"Database error: {reason}"


db_cli = AppGroup("db", help="The database schema.")


def intake_group(*commands: click.Command) -> IntakeGroup:
    """The `intake` group: `db` and the given commands."""
    group = IntakeGroup("intake", help="BL Intake: database, routing and delivery.")
    for command in (db_cli, *commands):
        group.add_command(command)
    return group


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade BL Intake's tables to the newest schema."""
    database = current_intake().database
    # A new database's routing is seeded from the routing file (INTAKE_ROUTING_FILE or the
    # shipped one); after that it lives in the database.
    migrate.upgrade(database.engine, routing_file=current_app.config["INTAKE_ROUTING_FILE"])
    click.echo(
        f"Database is up to date: {database.engine.url.render_as_string(hide_password=True)}"
    )
