"""The worker as a process: SIGKILL mid-job, SIGTERM, and beside the web on SQLite."""

from __future__ import annotations

import signal
import threading
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from intake.models import DeliveryJob, JobKind, JobStatus
from tests.support.helpers import VALID_HELP, VALID_ORDER, hidden_fields, submit
from tests.support.settings import send_mail_to
from tests.support.worker_process import start_worker, stop, wait_for

QUICK = {"INTAKE_JOB_LEASE_SECONDS": 2, "INTAKE_WORKER_POLL_SECONDS": 0.1}


@pytest.fixture
def config(config, smtp):
    return send_mail_to(config, smtp)


def email_statuses(db) -> Counter[JobStatus]:
    db.expire_all()
    return Counter(db.scalars(select(DeliveryJob.status).where(DeliveryJob.kind == JobKind.EMAIL)))


def test_a_worker_killed_mid_send_is_covered_after_the_lease(config, client, db, smtp):
    submit(client, "/pjecer/", VALID_ORDER)
    smtp.handler.hold = threading.Event()  # the first message is received, then held
    first = start_worker(config, **QUICK)
    try:
        wait_for(smtp.handler.held.is_set, what="the first message to reach the SMTP server")
    finally:
        stop(first, signal.SIGKILL)  # no chance to record anything
    smtp.handler.hold.set()
    smtp.handler.hold = None
    assert email_statuses(db)[JobStatus.RUNNING] == 1

    second = start_worker(config, **QUICK)
    try:
        wait_for(
            lambda: email_statuses(db) == Counter({JobStatus.DONE: 3}),
            what="all three e-mails to be delivered",
        )
    finally:
        log = stop(second)
    assert second.returncode == 0, log

    ids = Counter(m.message["Message-ID"] for m in smtp.messages)
    assert len(ids) == 3  # every job delivered
    assert sum(ids.values()) <= 4  # at most one duplicate: the message in hand at the kill
    assert max(ids.values()) <= 2
    jobs = db.scalars(select(DeliveryJob).where(DeliveryJob.kind == JobKind.EMAIL)).all()
    assert {job.external_id for job in jobs} == set(ids)


def test_sigterm_finishes_the_job_in_hand_then_exits(config, client, db, smtp):
    submit(client, "/pjecer/", VALID_ORDER)
    smtp.handler.hold = threading.Event()
    worker = start_worker(config, **QUICK)
    wait_for(smtp.handler.held.is_set, what="the first message to reach the SMTP server")
    worker.send_signal(signal.SIGTERM)
    threading.Timer(0.5, smtp.handler.hold.set).start()
    log = stop(worker)

    assert worker.returncode == 0, log
    assert "stopped" in log
    assert email_statuses(db) == Counter({JobStatus.DONE: 1, JobStatus.PENDING: 2})
    assert len(smtp.messages) == 1


def test_the_jobs_command_lists_and_requeues_dead_jobs(app, client, db, smtp):
    smtp.handler.rcpt_reply = "550 5.1.1 Ukendt modtager"
    submit(client, "/opstartshjaelp/", VALID_HELP)
    from intake.delivery.worker import Worker

    Worker(app).run_once()
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["intake", "jobs"])
    assert listing.exit_code == 0
    assert listing.output.count(" dead ") == 2
    assert "550 5.1.1 Ukendt modtager" in listing.output
    assert "salesforce" in listing.output and " pending " in listing.output
    header, *rows = listing.output.splitlines()
    status_column = header.index("status")  # the columns line up under their heads
    assert sorted(row[status_column:].split()[0] for row in rows) == ["dead", "dead", "pending"]

    smtp.handler.rcpt_reply = None
    dead_ids = db.scalars(select(DeliveryJob.id).where(DeliveryJob.status == JobStatus.DEAD)).all()
    one = runner.invoke(args=["intake", "jobs", "retry", str(dead_ids[0])])
    assert "Re-queued 1 dead job(s)." in one.output
    assert runner.invoke(args=["intake", "jobs", "retry", "--dead"]).output.startswith(
        "Re-queued 1 dead job(s)."
    )
    assert runner.invoke(args=["intake", "jobs", "retry"]).exit_code == 2
    Worker(app).run_once()
    assert email_statuses(db) == Counter({JobStatus.DONE: 2})
    assert len(smtp.messages) == 2


class TestBesideTheWebOnSQLite:
    @pytest.fixture
    def database_url(self, sqlite_url):
        return sqlite_url

    def test_posts_and_deliveries_run_together_without_locking_errors(
        self, config, live_server, db, smtp
    ):
        worker = start_worker(config, INTAKE_WORKER_POLL_SECONDS=0.05)
        errors: list[str] = []

        def post_orders(count: int) -> None:
            session = requests.Session()
            for _ in range(count):
                page = session.get(f"{live_server}/pjecer/", timeout=30)
                answer = session.post(
                    f"{live_server}/pjecer/",
                    data={**hidden_fields(page.text), **VALID_ORDER},
                    allow_redirects=False,
                    timeout=30,
                )
                if answer.status_code != 303:
                    errors.append(f"{answer.status_code}: {answer.text[:200]}")

        try:
            posters = [threading.Thread(target=post_orders, args=(10,)) for _ in range(3)]
            for poster in posters:
                poster.start()
            for poster in posters:
                poster.join()
            wait_for(lambda: len(smtp.messages) == 90, what="90 e-mails from 30 orders")
        finally:
            log = stop(worker)
        assert errors == []
        assert "locked" not in log and "Traceback" not in log, log
        assert db.scalar(select(func.count()).where(DeliveryJob.status == JobStatus.DONE)) == 90
        assert len({m.message["Message-ID"] for m in smtp.messages}) == 90


class TestTwoWorkersOnPostgreSQL:
    @pytest.fixture
    def database_url(self, postgres_url):
        return postgres_url

    def test_200_jobs_are_each_delivered_exactly_once(self, config, client, db, smtp):
        for _ in range(50):
            submit(client, "/pjecer/", VALID_ORDER)  # 3 e-mails each
        for _ in range(25):
            submit(client, "/opstartshjaelp/", VALID_HELP)  # 2 e-mails each
        assert sum(email_statuses(db).values()) == 200
        smtp.handler.delay = 0.01  # keep both workers busy at the same time

        workers = [start_worker(config, **QUICK) for _ in range(2)]
        try:
            wait_for(lambda: len(smtp.messages) >= 200, timeout=120, what="200 e-mails")
            wait_for(lambda: email_statuses(db) == Counter({JobStatus.DONE: 200}))
        finally:
            logs = [stop(worker) for worker in workers]
        assert [w.returncode for w in workers] == [0, 0], logs

        ids = Counter(m.message["Message-ID"] for m in smtp.messages)
        assert len(smtp.messages) == 200
        assert set(ids.values()) == {1}
        by_worker = Counter(
            db.scalars(select(DeliveryJob.claimed_by).where(DeliveryJob.kind == JobKind.EMAIL))
        )
        assert len(by_worker) == 2, by_worker  # both took part
        assert sum(by_worker.values()) == 200
