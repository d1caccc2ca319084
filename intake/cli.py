"""`flask --app wsgi intake …`: the project's command line."""

from __future__ import annotations

import signal
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from intake import audit, migrate, staff
from intake.cli_personal import person_cli, purge_command
from intake.cli_routing import routing_cli
from intake.error_pages import DATABASE_UNAVAILABLE
from intake.extension import current_intake
from intake.models import DeliveryJob, JobKind, JobStatus, StaffRole
from intake.outbox import requeue


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


# Column widths of `intake jobs`: the longest kind and status.
KIND = max(len(kind.value) for kind in JobKind)
STATUS = max(len(status.value) for status in JobStatus)

intake_cli = IntakeGroup("intake", help="BL Intake: database, routing and delivery.")
intake_cli.add_command(routing_cli)
intake_cli.add_command(purge_command)
intake_cli.add_command(person_cli)

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


@intake_cli.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def worker_command(once: bool) -> None:
    """Deliver the outbox: e-mails now, and every channel that later work adds.

    Runs until SIGTERM or Ctrl-C; the job in hand is finished and recorded first.
    """
    from intake.logs import configure_logging
    from intake.worker import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    configure_logging(app)  # this process is BL Intake's, even under a host app
    worker = Worker(app)
    if once:
        click.echo(f"Delivered or tried {worker.run_once()} job(s).")
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop())
    worker.run()


@intake_cli.group("jobs", invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Also list delivered jobs.")
@click.pass_context
@with_appcontext
def jobs_cli(ctx: click.Context, show_all: bool) -> None:
    """List pending, running and dead delivery jobs."""
    if ctx.invoked_subcommand is not None:
        return
    statuses = (
        list(JobStatus) if show_all else [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.DEAD]
    )
    with current_intake().database.sessionmaker() as session:
        jobs = session.scalars(
            select(DeliveryJob)
            .where(DeliveryJob.status.in_(statuses))
            .options(joinedload(DeliveryJob.submission))
            .order_by(DeliveryJob.id)
        ).all()
        if not jobs:
            click.echo("No jobs.")
            return
        click.echo(
            f"{'id':>6}  {'reference':<14} {'kind':<{KIND}} {'target':<16} {'status':<{STATUS}} "
            f"{'tries':>5}  {'next try (UTC)':<19}  last error"
        )
        for job in jobs:
            next_try = (
                job.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S")
                if job.status is JobStatus.PENDING
                else ""
            )
            click.echo(
                f"{job.id:>6}  {job.submission.reference:<14} {job.kind.value:<{KIND}} "
                f"{job.target.value:<16} {job.status.value:<{STATUS}} {job.attempts:>5}  "
                f"{next_try:<19}  "
                f"{job.last_error[:120]}"
            )


@jobs_cli.command("retry")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--dead", "all_dead", is_flag=True, help="Re-queue every dead job.")
def jobs_retry(job_ids: tuple[int, ...], all_dead: bool) -> None:
    """Put dead jobs (by id, or all with --dead) back in the queue with fresh tries."""
    if bool(job_ids) == all_dead:
        raise click.UsageError("Give job ids, or --dead for all dead jobs.")
    with current_intake().database.sessionmaker() as session:
        count = requeue(session, None if all_dead else list(job_ids))
    click.echo(f"Re-queued {count} dead job(s).")
    if job_ids and count < len(job_ids):
        click.echo("Only dead jobs can be re-queued; the others were left as they are.", err=True)


crm_cli = AppGroup("crm", help="Salesforce.")
intake_cli.add_command(crm_cli)


@crm_cli.command("check")
def crm_check() -> None:
    """Log in, describe Lead, and check every mapped field and the external id field."""
    from crm_sync.check import check
    from crm_sync.client import SalesforceClient

    config = current_intake().salesforce
    if config is None:
        click.echo(
            "Salesforce is not configured: set SALESFORCE_CLIENT_ID and the credentials "
            "of one login flow (see the README).",
            err=True,
        )
        raise SystemExit(1)
    report = check(config, SalesforceClient(config))
    click.echo(report.text())
    if not report.ok:
        raise SystemExit(1)


users_cli = AppGroup("users", help="Back-office staff.")
intake_cli.add_command(users_cli)


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
            user = staff.create(session, email, password, StaffRole(role))
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        audit.record(session, "cli", "user_created", detail=f"{user.email} ({role})")
        session.commit()
    click.echo(f"Created {user.email} with the role {role}.")
