"""``flask intake routing ...``: BL's IT checks the routing, and moves it out of the database
and into it (the back office edits it there: /admin/routing/, /admin/consultants/)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from intake.db import get_session
from intake.routing import store
from intake.routing.checker import load_routing
from intake.routing.edit import change_routing
from intake.routing.live import DATABASE_SOURCE
from intake.routing.model import Routing, RoutingError
from intake.routing.toml_file import routing_toml
from intake.text import counted

routing_cli = AppGroup(
    "routing", help="The municipality → kreds → consultant routing: check, export, import."
)

CLI_ACTOR = "cli"


def _database_routing() -> Routing | None:
    """The routing in the database; None without one (not migrated, or not BL Intake's app)."""
    state = current_app.extensions.get("intake")
    if state is None:
        return None
    routing = state.routing
    return routing if routing.source == DATABASE_SOURCE else None


@routing_cli.command("check")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check this routing file instead (e.g. before importing it).",
)
def check_command(path: Path | None) -> None:
    """Check the routing and print it, the unconfirmed entries and any problems.

    Checks the routing in the database; before `intake db upgrade`, or with --file, a routing
    file (INTAKE_ROUTING_FILE, else the shipped default). Exits with status 1, and the
    problems on standard error, when it cannot be used.
    """
    try:
        routing = (None if path else _database_routing()) or load_routing(
            path or current_app.config.get("INTAKE_ROUTING_FILE")
        )
    except RoutingError as exc:
        click.echo(str(exc), err=True)
        raise click.exceptions.Exit(1) from exc
    click.echo(check_report(routing), nl=False)


@routing_cli.command("export")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def export_command(path: Path | None) -> None:
    """Write the routing in the database as a routing file (to PATH, or standard output)."""
    routing = _database_routing()
    if routing is None:
        raise click.ClickException(
            "Databasen har ingen routing endnu: kør `flask --app wsgi intake db upgrade`."
        )
    text = routing_toml(routing)
    if path is None:
        click.echo(text, nl=False)
        return
    path.write_text(text, encoding="utf-8")
    click.echo(f"Routingen er skrevet til {path}.", err=True)


@routing_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Replace the routing in the database with the routing file PATH (checked first: a file
    with a problem changes nothing). Every change is in the audit log (actor "cli")."""
    try:
        routing = load_routing(path)
    except RoutingError as exc:
        click.echo(
            "Routingen er ikke importeret, og intet er ændret: filen har fejl, som skal rettes"
            f" først.\n{exc}",
            err=True,
        )
        raise click.exceptions.Exit(1) from exc
    new = store.data_of(routing)

    def replace(data: store.RoutingData) -> None:
        data.clear()
        data.update(store.edited(new))

    try:
        lines = change_routing(get_session(), CLI_ACTOR, "routing_imported", replace)
    except store.Conflict:
        raise click.ClickException(
            "Routingen blev ændret i databasen under importen, og intet er importeret. "
            "Kør kommandoen igen."
        ) from None
    if not lines:
        click.echo("Routingen i filen er den samme som i databasen: intet er ændret.")
        return
    click.echo(
        f"Routingen er importeret fra {path}: {counted(len(lines), 'ændring', 'ændringer')}."
    )
    for line in lines:
        click.echo(f"  {line}")


def check_report(routing: Routing) -> str:
    """The routing as a table, the entries still to confirm, and any warnings, for BL's IT."""
    source = (
        "Routing: in the database"
        if routing.source == DATABASE_SOURCE
        else (f"Routing file: {routing.source}")
    )
    lines = [source, ""]
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
