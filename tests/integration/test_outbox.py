"""The outbox: retry timing as a table, and claiming with leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from intake.delivery.outbox import claim, mark_done, mark_failed, requeue
from intake.delivery.retry import RetryPolicy
from intake.models import DeliveryJob, JobKind, JobStatus
from tests.support.helpers import VALID_ORDER, submit

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_seconds=30, max_seconds=3600, max_attempts=8)


@pytest.mark.parametrize(
    ("attempts", "rand", "seconds"),
    [
        (1, 0.0, 15),  # half of 30 s
        (1, 1.0, 30),
        (2, 0.0, 30),
        (2, 1.0, 60),
        (3, 0.5, 90),  # 60 + 0.5 * 60
        (7, 1.0, 1920),  # 30 * 2**6
        (8, 1.0, None),  # the 8th try was the last
    ],
)
def test_backoff_doubles_with_jitter_then_gives_up(attempts, rand, seconds):
    at = POLICY.next_attempt(attempts, NOW, rand=lambda: rand)
    assert at == (None if seconds is None else NOW + timedelta(seconds=seconds))


def test_backoff_is_capped():
    policy = RetryPolicy(base_seconds=30, max_seconds=600, max_attempts=50)
    assert policy.next_attempt(20, NOW, rand=lambda: 1.0) == NOW + timedelta(seconds=600)


def test_jitter_spreads_workers_apart():
    times = {POLICY.next_attempt(3, NOW) for _ in range(20)}
    assert len(times) > 1
    assert all(NOW + timedelta(seconds=60) <= t <= NOW + timedelta(seconds=120) for t in times)


def _jobs(db):
    return db.scalars(select(DeliveryJob).order_by(DeliveryJob.id)).all()


def test_claim_takes_due_jobs_of_the_asked_kinds_once(client, db):
    submit(client, "/pjecer/", VALID_ORDER)
    first = claim(db, [JobKind.EMAIL], worker_id="a", lease_seconds=60, limit=2)
    second = claim(db, [JobKind.EMAIL], worker_id="b", lease_seconds=60, limit=5)
    assert [j.id for j in first] == [1, 2]
    assert [j.id for j in second] == [3]
    assert claim(db, [JobKind.EMAIL], worker_id="c", lease_seconds=60) == []
    statuses = {(j.id, j.status, j.claimed_by, j.attempts) for j in _jobs(db)}
    assert statuses == {
        (1, JobStatus.RUNNING, "a", 1),
        (2, JobStatus.RUNNING, "a", 1),
        (3, JobStatus.RUNNING, "b", 1),
        (4, JobStatus.PENDING, None, 0),  # Salesforce: not asked for
    }


def test_a_job_whose_lease_ran_out_is_claimed_again(client, db):
    submit(client, "/pjecer/", VALID_ORDER)
    (job,) = claim(db, [JobKind.EMAIL], worker_id="dead-worker", lease_seconds=60)
    assert claim(db, [JobKind.EMAIL], worker_id="b", lease_seconds=60, limit=9) != []
    assert job.id not in [j.id for j in claim(db, [JobKind.EMAIL], worker_id="c", lease_seconds=60)]
    db.execute(
        update(DeliveryJob)
        .where(DeliveryJob.id == job.id)
        .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.commit()
    (again,) = claim(db, [JobKind.EMAIL], worker_id="c", lease_seconds=60)
    assert (again.id, again.claimed_by, again.attempts) == (job.id, "c", 2)
    # The dead worker, had it come back, can no longer record an outcome for it.
    assert mark_done(db, job, "dead-worker", "<late@bl.dk>") is False
    assert mark_done(db, again, "c", "<on-time@bl.dk>") is True


def test_failed_jobs_wait_or_die_and_dead_ones_can_be_requeued(client, db):
    submit(client, "/pjecer/", VALID_ORDER)
    first, second = claim(db, [JobKind.EMAIL], worker_id="w", lease_seconds=60, limit=2)
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert mark_failed(db, first, "w", "421 prøv igen", retry_at=later)
    assert mark_failed(db, second, "w", "550 ukendt modtager", retry_at=None)
    db.expire_all()
    first, second = _jobs(db)[:2]
    assert (first.status, first.last_error, first.next_attempt_at) == (
        JobStatus.PENDING,
        "421 prøv igen",
        later,
    )
    assert (second.status, second.last_error) == (JobStatus.DEAD, "550 ukendt modtager")
    assert claim(db, [JobKind.EMAIL], worker_id="w", lease_seconds=60, limit=9)[0].id == 3

    assert requeue(db, [first.id]) == 0  # only dead jobs
    assert requeue(db) == 1
    db.expire_all()
    assert (_jobs(db)[1].status, _jobs(db)[1].attempts) == (JobStatus.PENDING, 0)
