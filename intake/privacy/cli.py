"""`flask --app wsgi intake purge` and `intake person export|erase EMAIL`: personal data.

Output is for BL's IT, in English like the rest of the CLI. Each run (dry runs aside) is in the
audit log with the actor "cli"; the audit log names a person's address only by its keyed hash
(anonymise.address_key). Finding nothing to export or erase exits with status 1.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from intake import audit
from intake.models import Submission, SubmissionKind, utcnow
from intake.privacy.anonymise import (
    ACTOR,
    address_key,
    delete_held,
    erase_person,
    held_posts_of,
    purge,
    submissions_of,
)
from intake.privacy.export import export_person
from intake.settings import secret_key
from intake.staff import attempts, sessions
from intake.staff.accounts import find as find_staff
from intake.state import current_intake
from intake.text import counted
from intake.timefmt import DANISH_TIME

KIND_NAMES = {
    SubmissionKind.PAMPHLET_ORDER: "pamphlet order(s)",
    SubmissionKind.STARTUP_HELP: "start-up help request(s)",
}


def _date(moment: datetime) -> str:
    return moment.astimezone(DANISH_TIME).strftime("%Y-%m-%d")


def _listed(submission: Submission) -> str:
    kind = KIND_NAMES[submission.kind].removesuffix("(s)")
    return f"{submission.reference} ({kind}, {_date(submission.created_at)})"


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be anonymised.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Anonymise submissions older than INTAKE_RETENTION_DAYS, and delete posts held as likely
    spam for more than INTAKE_HELD_DAYS (run it daily, e.g. from cron).

    Names, contact details, addresses and free text are blanked; kind, municipality, kreds,
    dates and order lines stay, so the overview still counts them. Deliveries that have not
    gone out are cancelled. Running it again does nothing until more submissions age. Staff
    sessions that have ended and sign-in attempts older than 90 days are deleted.
    """
    days = int(current_app.config["INTAKE_RETENTION_DAYS"])
    # A held post is never kept longer than a submission would keep its personal data.
    held_days = min(int(current_app.config["INTAKE_HELD_DAYS"]), days)
    with current_intake().database.sessionmaker() as session:
        held = delete_held(session, held_days, dry_run=dry_run)
        if held:
            verb = "Dry run: would delete" if dry_run else "Deleted"
            click.echo(f"{verb} {held} post(s) held as likely spam for more than {held_days} days.")
        else:
            click.echo(f"No post has been held as likely spam for more than {held_days} days.")
        result = purge(session, days, dry_run=dry_run)
        before = f"received before {_date(result.cutoff)} (more than {days} days ago)"
        if not result.count:
            click.echo(f"Nothing to anonymise: no submission was {before}.")
        else:
            kinds = ", ".join(
                f"{n} {KIND_NAMES[kind]}" for kind, n in sorted(result.by_kind.items())
            )
            verb = "Dry run, nothing changed: would anonymise" if dry_run else "Anonymised"
            click.echo(f"{verb} {result.count} submission(s) {before}: {kinds}.")
            if not dry_run:
                click.echo(
                    f"Cancelled {result.cancelled_jobs} delivery job(s) that had not gone out "
                    f"and {result.cancelled_orders} pamphlet order(s) still waiting."
                )
                click.echo(
                    "The overview still counts them: kind, municipality, kreds, dates and "
                    "order lines are kept."
                )
        oldest = result.oldest_kept
        if oldest is None:
            click.echo("No submission with personal data is left.")
        else:
            click.echo(f"Oldest submission kept: {_listed(oldest)}.")
        if not dry_run:
            _purge_staff_records(session)


def _purge_staff_records(session: Session) -> None:
    """Staff sessions that can no longer be used, and sign-in attempts (addresses) older than
    attempts.KEPT_DAYS: nothing reads them any more."""
    now = utcnow()
    limits = sessions.Limits.from_config(current_app.config)
    ended = sessions.delete_expired(session, now, limits)
    old = attempts.delete_older_than(session, now - timedelta(days=attempts.KEPT_DAYS))
    session.commit()
    click.echo(
        f"Removed {ended} staff session(s) that had ended and {old} sign-in attempt(s) older "
        f"than {attempts.KEPT_DAYS} days."
    )


person_cli = AppGroup("person", help="One person's data, found by e-mail address (GDPR).")


@person_cli.command("export")
@click.argument("email")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON to this file (UTF-8) instead of standard output.",
)
def person_export(email: str, output: Path | None) -> None:
    """Everything held about EMAIL as JSON: submissions, order lines, deliveries, audit events
    (and a back-office account of that address). Exit status 1 when nothing is held."""
    with current_intake().database.sessionmaker() as session:
        data = export_person(session, email)
        references = [s["reference"] for s in data["submissions"]]
        detail = (
            f"E-mail-nøgle {address_key(email, secret_key(current_app))}: "
            f"{counted(len(references), 'henvendelse', 'henvendelser')} eksporteret "
            f"({', '.join(references) or 'ingen'})"
            + ("; også en back office-konto." if data["staff_account"] else ".")
        )
        if data["found"]:
            text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
            if output is None:
                click.echo(text, nl=False)
            else:
                output.write_text(text, encoding="utf-8")
        audit.record(session, ACTOR, "person_exported", detail=detail)
        session.commit()
    if not data["found"]:
        click.echo("Nothing is held about that address: no submissions, no account.", err=True)
        raise SystemExit(1)
    if output is not None:
        click.echo(f"Wrote {len(references)} submission(s) to {output}.", err=True)


@person_cli.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def person_erase(email: str, yes: bool) -> None:
    """Anonymise every submission from EMAIL and delete its unconverted Salesforce leads.

    The leads are deleted by the worker (a job per submission, retried if Salesforce is
    down); a lead already converted to a contact is left alone and reported in the job's
    outcome (/admin/deliveries/) and the audit log. Exit status 1 when nothing is found.
    """
    key = address_key(email, secret_key(current_app))
    with current_intake().database.sessionmaker() as session:
        found = submissions_of(session, email)
        held = held_posts_of(session, email)
        if find_staff(session, email) is not None:
            click.echo(
                "Note: this address is also a back-office account; erase leaves accounts alone.",
                err=True,
            )
        if not found and not held:
            audit.record(
                session, ACTOR, "person_erased", detail=f"E-mail-nøgle {key}: intet fundet."
            )
            session.commit()
            click.echo("Nothing found for that address; nothing changed.", err=True)
            raise SystemExit(1)
        click.echo(f"Found {len(found)} submission(s) from that address:")
        for submission in found:
            click.echo(f"  {_listed(submission)}")
        if held:
            click.echo(f"and {len(held)} post(s) held as likely spam (never sent on).")
        session.rollback()  # no transaction stays open while we wait for an answer
        if not yes:
            click.confirm(
                "Anonymise them and delete their leads in Salesforce? This cannot be undone.",
                abort=True,
            )
        result = erase_person(session, email, key)
    click.echo(
        f"Anonymised {result.count} submission(s): {', '.join(result.references) or 'none'}. "
        f"Cancelled {result.cancelled_jobs} delivery job(s) that had not gone out."
    )
    if result.held_deleted:
        click.echo(f"Deleted {result.held_deleted} post(s) held as likely spam.")
    if result.erasure_jobs:
        click.echo(
            f"Queued {result.erasure_jobs} Salesforce job(s): the worker deletes the leads that "
            "are not converted (see `intake jobs` or /admin/deliveries/)."
        )
    else:
        click.echo("None of them reached Salesforce: there is no lead to delete.")
