"""`flask --app wsgi intake worker|jobs|crm …`: the delivery worker, its jobs, and Salesforce."""

from __future__ import annotations

import signal

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm_sync.check import check
from crm_sync.client import SalesforceClient
from crm_sync.errors import CrmError
from intake.delivery.errors import log_text
from intake.delivery.outbox import requeue
from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus
from intake.observability.logging_setup import configure_logging
from intake.state import current_intake

# Column widths of `intake jobs`: the longest kind and status.
KIND = max(len(kind.value) for kind in JobKind)
STATUS = max(len(status.value) for status in JobStatus)


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Deliver the outbox: e-mails and Salesforce.

    Runs until SIGTERM or Ctrl-C; the job in hand is finished and recorded first.
    """
    # The app itself, not the proxy, for a worker that outlives this context. Flask types
    # current_app as the Flask it stands for, so the proxy's own method is unknown to mypy.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    configure_logging(app)  # this process is BL Intake's, even under a host app
    worker = Worker(app)
    if once:
        click.echo(f"Delivered or tried {worker.run_once()} job(s).")
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop())
    worker.run()


@click.group("jobs", cls=AppGroup, invoke_without_command=True)
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


@crm_cli.command("check")
def crm_check() -> None:
    """Log in, describe Lead, and check every mapped field and the external id field."""
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


@crm_cli.command("pull")
def crm_pull() -> None:
    """Read the follow-up back from Salesforce now: each lead's Status, whether it was
    converted, and its follow-up task's Status, for the leads changed since the last pull."""
    if current_intake().salesforce is None:
        click.echo("Salesforce is not configured: nothing to pull (see the README).", err=True)
        raise SystemExit(1)
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # see worker_command
    try:
        result = Worker(app, channels=[]).pull_follow_up(force=True)
    except CrmError as error:
        click.echo(f"The pull failed, nothing was stored: {log_text(error)}", err=True)
        raise SystemExit(1) from None
    if result is None or not result.pulled:
        click.echo("Another worker is pulling right now; try again in a moment.", err=True)
        raise SystemExit(1)
    through = result.watermark.isoformat() if result.watermark else "-"
    click.echo(
        f"Read {result.leads} changed lead(s), updated {result.stored} request(s) with "
        f"{result.api_requests} API request(s); changes up to {through} are in."
    )
