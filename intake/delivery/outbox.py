"""The transactional outbox: enqueue with the submission, claim atomically, record the outcome.

A job's life: `pending` → (claimed) `running` → `done`, or back to `pending` with a later
`next_attempt_at` after a transient failure, or `dead` after a permanent one or too many
tries. A worker that dies leaves its job `running`; once the job's lease (`locked_until`)
has passed, any worker may claim it again. Delivery is therefore at least once: channels make
a repeat recognisable (a stable Message-ID) or harmless (a Salesforce upsert).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from intake.db import rows_matched
from intake.models import (
    DeliveryJob,
    JobKind,
    JobStatus,
    JobTarget,
    SubmissionKind,
    utcnow,
)

JOBS_BY_KIND: dict[SubmissionKind, tuple[tuple[JobKind, JobTarget], ...]] = {
    SubmissionKind.PAMPHLET_ORDER: (
        (JobKind.EMAIL, JobTarget.PAMPHLET_OFFICE),
        (JobKind.EMAIL, JobTarget.CONSULTANT),
        (JobKind.EMAIL, JobTarget.REQUESTER),
        (JobKind.SALESFORCE, JobTarget.LEAD),
    ),
    SubmissionKind.STARTUP_HELP: (
        (JobKind.EMAIL, JobTarget.CONSULTANT),
        (JobKind.EMAIL, JobTarget.REQUESTER),
        (JobKind.SALESFORCE, JobTarget.LEAD),
    ),
}


def jobs_for(submission_id: int, kind: SubmissionKind) -> list[dict[str, object]]:
    """The delivery jobs of a new submission of this kind, as rows to insert with it (in the
    same transaction: intake.submissions.store). Every other column takes its default: pending,
    due now, no tries yet."""
    return [
        {"submission_id": submission_id, "kind": job_kind, "target": target}
        for job_kind, target in JOBS_BY_KIND[kind]
    ]


def _due(now: datetime, due_by: datetime) -> ColumnElement[bool]:
    """Pending and due, or running under a lease that has run out (its worker died)."""
    return or_(
        and_(DeliveryJob.status == JobStatus.PENDING, DeliveryJob.next_attempt_at <= due_by),
        and_(DeliveryJob.status == JobStatus.RUNNING, DeliveryJob.locked_until < now),
    )


def claim(
    session: Session,
    kinds: Iterable[JobKind],
    *,
    worker_id: str,
    lease_seconds: float,
    limit: int = 1,
    due_by: datetime | None = None,
    with_waiting: bool = False,
) -> list[DeliveryJob]:
    """Claim up to `limit` due jobs of these kinds for this worker, oldest first, and commit.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED locks the chosen rows, so concurrent workers on
    any number of machines each get other rows; the UPDATE then marks them in the same
    transaction. (Inside one UPDATE … WHERE id IN (SELECT … SKIP LOCKED LIMIT n), PostgreSQL may
    run the subquery more than once and claim more than n.) SQLite runs one writer at a time,
    so a single UPDATE … WHERE id IN (SELECT … LIMIT n) is atomic there.

    `due_by` (default: now) lets a pass of the worker leave alone what it has just put back.

    `with_waiting`: when a job is due, take with it the jobs of these kinds that wait for a
    retry after a failed try (due ones first, up to `limit`). For a channel that sends a batch
    in one request this costs nothing more, and a batch that failed together, or jobs that
    failed one by one while the receiver was down, go again together instead of one small
    batch per job, as their jittered retry times would have it. Jobs made to wait on purpose
    (never tried, due later) are left to their time.
    """
    now = utcnow()
    due_by = due_by or now
    of_kinds = DeliveryJob.kind.in_(list(kinds))
    due = _due(now, due_by)
    eligible = due
    if with_waiting:
        if session.scalar(select(DeliveryJob.id).where(of_kinds, due).limit(1)) is None:
            session.commit()
            return []
        waiting = and_(DeliveryJob.status == JobStatus.PENDING, DeliveryJob.attempts > 0)
        eligible = or_(due, waiting)
    candidates = (
        select(DeliveryJob.id)
        .where(of_kinds, eligible)
        .order_by(case((due, 0), else_=1), DeliveryJob.next_attempt_at, DeliveryJob.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        chosen: Any = list(session.scalars(candidates.with_for_update(skip_locked=True)))
    else:
        chosen = candidates.scalar_subquery()
    claimed_ids = session.scalars(
        update(DeliveryJob)
        .where(DeliveryJob.id.in_(chosen), eligible)
        .values(
            status=JobStatus.RUNNING,
            claimed_by=worker_id,
            locked_until=now + timedelta(seconds=lease_seconds),
            attempts=DeliveryJob.attempts + 1,
        )
        .returning(DeliveryJob.id)
    ).all()
    # Loaded before the commit, so that a claim either fails whole or hands over its jobs:
    # never claimed jobs the caller does not know of (a database gone between the two).
    jobs = (
        list(
            session.scalars(
                select(DeliveryJob).where(DeliveryJob.id.in_(claimed_ids)).order_by(DeliveryJob.id)
            )
        )
        if claimed_ids
        else []
    )
    session.commit()
    return jobs


def _ours(job: DeliveryJob, worker_id: str) -> ColumnElement[bool]:
    return and_(
        DeliveryJob.id == job.id,
        DeliveryJob.status == JobStatus.RUNNING,
        DeliveryJob.claimed_by == worker_id,
    )


def _end_try(session: Session, job: DeliveryJob, worker_id: str, **values: object) -> bool:
    """Write a try's outcome on a job this worker still holds; False when its lease passed to
    another worker meanwhile. The caller commits (once for a whole batch)."""
    matched = rows_matched(
        session,
        update(DeliveryJob).where(_ours(job, worker_id)).values(locked_until=None, **values),
    )
    return matched == 1


def mark_done(session: Session, job: DeliveryJob, worker_id: str, external_id: str | None) -> bool:
    """Record a delivery."""
    return _end_try(
        session,
        job,
        worker_id,
        status=JobStatus.DONE,
        external_id=external_id,
        finished_at=utcnow(),
        last_error="",
    )


def mark_failed(
    session: Session,
    job: DeliveryJob,
    worker_id: str,
    error: str,
    retry_at: datetime | None,
    *,
    receiver_failed: bool = True,
) -> bool:
    """Record a failed try: back to pending at `retry_at`, or dead when it is None. The first
    failed try's time is kept (since when its receiver has been behind), unless the receiver
    was not at fault (`receiver_failed` false: the database went away)."""
    values: dict[str, object] = {"last_error": error[:4000]}
    if receiver_failed:
        now = literal(utcnow(), DeliveryJob.first_failed_at.type)
        values["first_failed_at"] = func.coalesce(DeliveryJob.first_failed_at, now)
    if retry_at is None:
        values.update(status=JobStatus.DEAD, finished_at=utcnow())
    else:
        values.update(status=JobStatus.PENDING, next_attempt_at=retry_at)
    return _end_try(session, job, worker_id, **values)


def mark_cancelled(session: Session, job: DeliveryJob, worker_id: str, outcome: str) -> bool:
    """Record that a claimed job was not delivered and never will be (its submission was
    anonymised meanwhile)."""
    return _end_try(
        session,
        job,
        worker_id,
        status=JobStatus.CANCELLED,
        outcome=outcome,
        finished_at=utcnow(),
        last_error="",
    )


def requeue(session: Session, job_ids: Sequence[int] | None = None) -> int:
    """Put dead jobs (all, or these ids) back in the queue with fresh attempts; how many."""
    condition = DeliveryJob.status == JobStatus.DEAD
    if job_ids is not None:
        condition = and_(condition, DeliveryJob.id.in_(job_ids))
    requeued = rows_matched(
        session,
        update(DeliveryJob)
        .where(condition)
        .values(
            status=JobStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            finished_at=None,
            first_failed_at=None,
        ),
    )
    session.commit()
    return requeued
