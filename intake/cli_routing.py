"""``flask intake routing ...``: commands for BL's IT to check the routing file."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from intake.routing import RoutingError, check_report, load_routing

routing_cli = AppGroup("routing", help="Check the municipality → kreds → consultant routing.")


@routing_cli.command("check")
def check_command() -> None:
    """Check the routing file and print the routing, the unconfirmed entries and any problems.

    Reads INTAKE_ROUTING_FILE (the shipped default when unset). Exits with status 1, and the
    problems on standard error, when the file cannot be used.
    """
    path = current_app.config.get("INTAKE_ROUTING_FILE")
    try:
        routing = load_routing(path)
    except RoutingError as exc:
        click.echo(str(exc), err=True)
        raise click.exceptions.Exit(1) from exc
    click.echo(check_report(routing), nl=False)
