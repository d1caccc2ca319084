"""The transactional outbox: enqueue with the submission, claim atomically, record the outcome.

A job's life: `pending` → (claimed) `running` → `done`, or back to `pending` with a later
`next_attempt_at` after a transient failure, or `dead` after a permanent one or too many
tries. A worker that dies leaves its job `running`; once the job's lease (`locked_until`)
has passed, any worker may claim it again. Delivery is therefore at least once: channels make
a repeat recognisable (a stable Message-ID) or harmless (a Salesforce upsert).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
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


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed job again: exponential backoff with jitter, then give up.

    After the n-th failed try the wait is drawn between half and all of
    `min(max_seconds, base_seconds * 2 ** (n - 1))` ("equal jitter", so workers that failed
    together do not all come back together). With base 30 s and max 3600 s: 15–30 s after the
    first failure, 30–60 s after the second, 60–120 s after the third, ... and never more than
    an hour. After `max_attempts` tries the job is dead.
    """

    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    max_attempts: int = 8

    def next_attempt(
        self, attempts: int, now: datetime, rand: Callable[[], float] = random.random
    ) -> datetime | None:
        """The time of the next try after `attempts` tries, or None: give up."""
        if attempts >= self.max_attempts:
            return None
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return now + timedelta(seconds=ceiling / 2 + rand() * ceiling / 2)


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
) -> list[DeliveryJob]:
    """Claim up to `limit` due jobs of these kinds for this worker, oldest first, and commit.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED locks the chosen rows, so concurrent workers on
    any number of machines each get other rows; the UPDATE then marks them in the same
    transaction. (Inside one UPDATE … WHERE id IN (SELECT … SKIP LOCKED LIMIT n), PostgreSQL may
    run the subquery more than once and claim more than n.) SQLite runs one writer at a time,
    so a single UPDATE … WHERE id IN (SELECT … LIMIT n) is atomic there.

    `due_by` (default: now) lets a pass of the worker leave alone what it has just put back.
    """
    now = utcnow()
    due_by = due_by or now
    candidates = (
        select(DeliveryJob.id)
        .where(DeliveryJob.kind.in_(list(kinds)), _due(now, due_by))
        .order_by(DeliveryJob.next_attempt_at, DeliveryJob.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        chosen: Any = list(session.scalars(candidates.with_for_update(skip_locked=True)))
    else:
        chosen = candidates.scalar_subquery()
    claimed_ids = session.scalars(
        update(DeliveryJob)
        .where(DeliveryJob.id.in_(chosen), _due(now, due_by))
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
    session: Session, job: DeliveryJob, worker_id: str, error: str, retry_at: datetime | None
) -> bool:
    """Record a failed try: back to pending at `retry_at`, or dead when it is None."""
    values: dict[str, object] = {"last_error": error[:4000]}
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
        .values(status=JobStatus.PENDING, attempts=0, next_attempt_at=utcnow(), finished_at=None),
    )
    session.commit()
    return requeued
