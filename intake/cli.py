"""`flask --app wsgi intake …`: the project's command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from intake import migrate
from intake.cli_routing import routing_cli
from intake.extension import current_intake

intake_cli = AppGroup("intake", help="BL Intake: database, routing and delivery.")
intake_cli.add_command(routing_cli)

db_cli = AppGroup("db", help="The database schema.")
intake_cli.add_command(db_cli)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade BL Intake's tables to the newest schema."""
    database = current_intake().database
    migrate.upgrade(database.engine)
    click.echo(
        f"Database is up to date: {database.engine.url.render_as_string(hide_password=True)}"
    )
