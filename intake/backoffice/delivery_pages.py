"""The back office: deliveries (admins only) — the outbox's waiting and dead jobs, retrying
dead ones, and the Salesforce record of each synced submission.

Each list is capped (`LIST_LIMIT`, `SYNCED_LIMIT`); the page says how many there are in all.
Every retry is written to the audit log, one event per job, on the job's submission.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from intake import audit
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp
from intake.db import get_session
from intake.delivery.outbox import requeue
from intake.labels import JOB_KINDS, JOB_STATUSES, JOB_TARGETS
from intake.models import BACKLOG, DeliveryJob, JobKind, JobStatus, StaffRole, Submission

LIST_LIMIT = 200  # jobs per list: the next due waiting jobs, the most recently dead
SYNCED_LIMIT = 50  # the newest submissions with a Salesforce record
ERASURES_LIMIT = 50  # the newest erasures in Salesforce (intake person erase)
RETRY_BATCH = 500  # dead jobs locked, recorded and requeued per transaction


def _jobs(session: Session, *statuses: JobStatus, newest_first: bool) -> list[DeliveryJob]:
    order = (
        (DeliveryJob.finished_at.desc().nulls_last(), DeliveryJob.id.desc())
        if newest_first
        else (DeliveryJob.next_attempt_at, DeliveryJob.id)
    )
    query = (
        select(DeliveryJob)
        .where(DeliveryJob.status.in_(statuses))
        .options(selectinload(DeliveryJob.submission))
        .order_by(*order)
        .limit(LIST_LIMIT)
    )
    return list(session.scalars(query))


def _counts(session: Session) -> dict[str, int]:
    """How many jobs there are per status, by the status's value (`counts.dead`)."""
    rows = session.execute(select(DeliveryJob.status, func.count()).group_by(DeliveryJob.status))
    counts = {status.value: 0 for status in JobStatus}
    counts.update({status.value: number for status, number in rows})
    return counts


def web_link(url: str | None) -> str | None:
    """Only an http(s) address becomes a link (never `javascript:` or the like)."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


@bp.get("/deliveries/")
@requires(StaffRole.ADMIN)
def deliveries() -> str:
    session = get_session()
    synced = session.scalars(
        select(Submission)
        .where(Submission.salesforce_url.is_not(None))
        .order_by(Submission.id.desc())
        .limit(SYNCED_LIMIT)
    )
    counts = _counts(session)
    erasures = session.scalars(
        select(DeliveryJob)
        .where(DeliveryJob.kind == JobKind.SALESFORCE_ERASE)
        .options(selectinload(DeliveryJob.submission))
        .order_by(DeliveryJob.id.desc())
        .limit(ERASURES_LIMIT)
    )
    return render_template(
        "intake/admin/deliveries.html",
        waiting=_jobs(session, *BACKLOG, newest_first=False),
        dead=_jobs(session, JobStatus.DEAD, newest_first=True),
        counts=counts,
        waiting_count=counts["pending"] + counts["running"],
        synced=list(synced),
        synced_count=session.scalar(
            select(func.count()).where(Submission.salesforce_url.is_not(None))
        ),
        limit=LIST_LIMIT,
        synced_limit=SYNCED_LIMIT,
        erasures=list(erasures),
        erasures_count=session.scalar(
            select(func.count()).where(DeliveryJob.kind == JobKind.SALESFORCE_ERASE)
        ),
        kinds=JOB_KINDS,
        targets=JOB_TARGETS,
        statuses=JOB_STATUSES,
        web_link=web_link,
        order_links="intake_admin.order" in current_app.view_functions,
    )


def _describe(job: DeliveryJob) -> str:
    error = job.last_error if len(job.last_error) <= 500 else job.last_error[:499] + "…"
    return (
        f"Leverance {job.id}: {JOB_KINDS[job.kind]} – {JOB_TARGETS[job.target]} "
        f"({job.submission.reference}), {job.attempts} forsøg. Sidste fejl: {error or '–'}"
    )


def _retry(session: Session, action: str, job_id: int | None = None) -> int:
    """Requeue the dead jobs (all, or this one), recording each in the audit log in the same
    commit; how many. The rows are locked first (PostgreSQL), so two admins retrying at once
    do not both record the same job."""
    ids_query = select(DeliveryJob.id).where(DeliveryJob.status == JobStatus.DEAD)
    if job_id is not None:
        ids_query = ids_query.where(DeliveryJob.id == job_id)
    ids = list(session.scalars(ids_query.order_by(DeliveryJob.id)))
    retried = 0
    for start in range(0, len(ids), RETRY_BATCH):
        jobs = session.scalars(
            select(DeliveryJob)
            .where(
                DeliveryJob.id.in_(ids[start : start + RETRY_BATCH]),
                DeliveryJob.status == JobStatus.DEAD,
            )
            .order_by(DeliveryJob.id)
            .with_for_update()
            .options(selectinload(DeliveryJob.submission))
        ).all()
        if not jobs:
            continue
        actor = current_user.email
        for job in jobs:
            audit.record(session, actor, action, submission=job.submission, detail=_describe(job))
        retried += requeue(session, [job.id for job in jobs])  # commits the events with it
    session.rollback()  # nothing left to keep; ends the transaction the last lookup opened
    return retried


@bp.post("/deliveries/<int:job_id>/retry")
@requires(StaffRole.ADMIN)
def deliveries_retry(job_id: int) -> Response:
    if _retry(get_session(), "delivery_retry", job_id):
        flash(f"Leverance {job_id} er sat i kø igen og bliver prøvet om lidt.")
    else:
        flash(f"Leverance {job_id} er ikke opgivet (længere), så der var intet at prøve igen.")
    return redirect(url_for(".deliveries"))


@bp.post("/deliveries/retry-all")
@requires(StaffRole.ADMIN)
def deliveries_retry_all() -> Response:
    retried = _retry(get_session(), "delivery_retry_all")
    if retried == 0:
        flash("Der var ingen opgivne leverancer at prøve igen.")
    elif retried == 1:
        flash("1 opgivet leverance er sat i kø igen.")
    else:
        flash(f"{retried} opgivne leverancer er sat i kø igen.")
    return redirect(url_for(".deliveries"))
