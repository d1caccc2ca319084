"""``flask intake routing ...``: commands for BL's IT to check the routing file."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from intake.routing.checker import load_routing
from intake.routing.model import Routing, RoutingError

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


def check_report(routing: Routing) -> str:
    """The routing as a table, the entries still to confirm, and any warnings, for BL's IT."""
    lines = [f"Routing file: {routing.source}", ""]
    office = routing.office
    lines.append(f"Pamphlet office: {_contact(office.name, office.email, office.phone)}")
    lines.append("Consultants:")
    for c in routing.consultants.values():
        kredse = ", ".join(str(k) for k in c.kredse) or "none"
        owner = c.salesforce_user_id or "not set"
        lines.append(
            f"  {c.key:<5} {_contact(c.name, c.email, c.phone)}; kredse {kredse};"
            f" Salesforce user {owner}"
        )
    lines.append("")

    rows = [("kode", "kommune", "kreds", "konsulent", "status")]
    for code in sorted(routing.municipalities):
        route = routing.route(code)
        m = route.municipality
        rows.append((m.code, m.name, str(m.kreds), route.consultant.name, m.status))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    lines.append("")

    unconfirmed = routing.unconfirmed()
    lines.append(f"Unconfirmed entries ({len(unconfirmed)}):")
    for m in unconfirmed:
        lines.append(f"  {m.code} {m.name}, kreds {m.kreds} ({m.status}): {m.note}".rstrip())
    lines.append("")

    if routing.warnings:
        lines.append(f"Problems ({len(routing.warnings)}):")
        lines += [f"  {warning}" for warning in routing.warnings]
    else:
        lines.append("Problems: none")
    return "\n".join(lines) + "\n"


def _contact(name: str, email: str, phone: str) -> str:
    return " ".join(part for part in (name, f"<{email}>", phone) if part)


# Danish alphabetical order puts æ, ø, å after z (and treats ä, ö as æ, ø). Mapping them to
# the three characters after "z" in ASCII gives that order with a plain string sort.
