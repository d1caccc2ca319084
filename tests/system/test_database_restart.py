"""PostgreSQL restarted under load, with everything else as in production: gunicorn, delivery
workers as processes, SMTP (aiosmtpd) and Salesforce (the project's emulator).

While the database is down, people get the Danish 503 page, never a 500 or a trace; once it
is back, every submission that was answered with its receipt is stored once, mailed once and
synced once, and none of those that got the 503 was stored. The server is one of this
module's own (initdb + pg_ctl in a temp dir), so the shared one that other tests use stays up.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.audit import audit, wait_for_empty_backlog
from bench.common import Tables, fresh_database
from bench.load import Burst, Post
from bench.stack import (
    PostgresServer,
    Stack,
    postgres_bindir,
    postgres_server,
    read_mail,
    running_stack,
)
from intake import migrate
from intake.models import DeliveryJob, JobKind, JobStatus, Submission
from intake.web.error_pages import UNAVAILABLE, UNAVAILABLE_PAGE
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.settings import missing_part, send_mail_to, use_salesforce
from tests.support.worker_process import start_worker, stop, wait_for

pytestmark = pytest.mark.slow

UNAVAILABLE_TITLE = str(UNAVAILABLE[0])  # "Vi kan ikke gemme din henvendelse lige nu"
UNAVAILABLE_PAGE_TITLE = str(
    UNAVAILABLE_PAGE[0]
)  # a form asked for: "Siden kan ikke vises lige nu"
WAIT = 60  # seconds: a generous deadline for each step on a busy machine (the lease is 300)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """This module's own PostgreSQL server; each test leaves it running."""
    bindir = postgres_bindir()
    if bindir is None:
        missing_part("PostgreSQL's initdb and pg_ctl (Debian: apt-get install postgresql)")
    with postgres_server(bindir) as server:
        yield server


@pytest.fixture
def database_url(postgres: PostgresServer, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on it (instead of conftest's on SQLite and the shared
    server: the `config` and `app` fixtures use this one)."""
    with fresh_database(postgres.url, tmp_path) as (url, _):
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url


# --- A burst through the whole stack ------------------------------------------------------


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(database_url, tmp_path, web_processes=2, workers=2) as running:
        yield running


def sent_while_down(post: Post, down: tuple[float, float]) -> bool:
    """Sent after the server had stopped and answered before it was started again."""
    return down[0] <= post.sent_at and post.answered_at <= down[1]


def test_a_database_restart_mid_burst_loses_and_duplicates_nothing(
    postgres: PostgresServer, stack: Stack
) -> None:
    burst = Burst(stack.url, count=1000, rate=12, clients=4, tag="genstart").start()
    try:
        wait_for(lambda: burst.answered(lambda p: p.accepted) >= 25, WAIT, "25 receipts")
        postgres.stop()
        stopped_at = time.monotonic()
        wait_for(  # keep posting for a few seconds
            lambda: (
                burst.answered(lambda p: p.status == 503 and p.sent_at >= stopped_at) >= 5
                and time.monotonic() - stopped_at > 2
            ),
            WAIT,
            "posts answered while the database is down",
        )
        down = (stopped_at, time.monotonic())
        postgres.start()
        started_at = time.monotonic()
        wait_for(
            lambda: burst.answered(lambda p: p.accepted and p.sent_at >= started_at) >= 25,
            WAIT,
            "25 receipts after the restart",
        )
    finally:
        burst.stop()
    posts = burst.posts

    # While it was down: the Danish 503 page, for the forms that need the database to be
    # shown (the pamphlet catalogue) and for every post. Never a 500, never a trace.
    during = [post for post in posts if sent_while_down(post, down)]
    assert sum(post.status == 503 for post in during) >= 5
    assert {post.outcome for post in during} <= {"503", "GET 503"}
    refused = [post for post in posts if not post.accepted]
    unexpected = [post.error for post in refused if post.outcome not in {"503", "GET 503"}]
    assert not unexpected
    for post in refused:
        title = UNAVAILABLE_PAGE_TITLE if post.outcome == "GET 503" else UNAVAILABLE_TITLE
        assert title in post.page
        assert "Traceback" not in post.page

    # Once it was back: everything accepted delivered, exactly once.
    with Tables(stack.database_url) as tables:
        drained = wait_for_empty_backlog(tables, stack.workers_alive)
        result = audit(posts, tables, read_mail(stack.sink.since(0)), stack.emulator.records())
    assert drained is not None, f"the outbox did not empty: {result.outbox}"
    assert result.accepted >= 50
    assert result.stored == result.accepted
    assert result.lost == 0
    assert result.stored_refused == 0  # a post answered 503 was not stored
    assert result.duplicate_rows == 0
    assert result.mail_missing == result.mail_unexpected == 0
    assert result.mail_received == result.mail_expected
    assert result.duplicate_message_ids == 0
    assert result.leads == result.leads_expected
    assert result.duplicate_leads == 0
    assert result.tasks == result.tasks_expected
    assert result.duplicate_tasks == 0
    assert set(result.outbox) <= {"email/done", "salesforce/done"}
    assert result.ok
    # The workers waited the outage out; gunicorn still serves.
    assert stack.workers_alive(), [worker.trouble for worker in stack.workers]
    assert stack.web.process.poll() is None


# --- The moments a restart can hit, one at a time -----------------------------------------


def test_a_page_made_before_the_database_goes_away_is_still_sent(
    postgres: PostgresServer, app: Flask
) -> None:
    """The server stops after the page was made, before the request's session is closed."""

    @app.after_request
    def stop_the_database(response: Response) -> Response:
        postgres.stop()
        return response

    try:
        page = app.test_client().get("/pjecer/")  # the catalogue comes from the database
    finally:
        postgres.start()
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.get_data(as_text=True)


def jobs_of(database_url: str, kind: JobKind | None = None) -> list[DeliveryJob]:
    """The delivery jobs (of one kind) as they are in the database now."""
    engine = create_engine(database_url)
    query = (
        select(DeliveryJob) if kind is None else select(DeliveryJob).where(DeliveryJob.kind == kind)
    )
    try:
        with Session(engine) as session:
            return list(session.scalars(query))
    finally:
        engine.dispose()


def test_a_message_sent_while_the_database_stops_is_recorded_once_it_is_back(
    postgres: PostgresServer, app: Flask, config: dict[str, Any], smtp: Any
) -> None:
    """The worker has handed a message to the SMTP server when the database stops, so it
    cannot record the delivery: it keeps the outcome and records it when the database is
    back, long before the job's lease (300 s) would let another try send it again."""
    assert submit(app.test_client(), "/pjecer/", VALID_ORDER).status_code == 303  # 3 e-mails
    smtp.handler.hold = threading.Event()  # the first message is received, then held
    worker = start_worker(send_mail_to(config, smtp), INTAKE_WORKER_POLL_SECONDS=0.1)
    try:
        wait_for(smtp.handler.held.is_set, WAIT, "the first message to reach the SMTP server")
        postgres.stop()
        smtp.handler.hold.set()  # the send completes; recording it cannot
        wait_for(lambda: smtp.handler.quits == 1, WAIT, "the worker to be done with the send")
        postgres.start()  # far slower than the worker's next step: recording the delivery
        wait_for(
            lambda: (
                Counter(job.status for job in jobs_of(config["INTAKE_DATABASE_URL"], JobKind.EMAIL))
                == Counter({JobStatus.DONE: 3})
            ),
            WAIT,
            "the three e-mails to be recorded as delivered",
        )
        assert worker.poll() is None  # it waited the outage out
    finally:
        log = stop(worker)
    assert worker.returncode == 0, log
    message_ids = Counter(message.message["Message-ID"] for message in smtp.messages)
    assert len(message_ids) == 3
    assert set(message_ids.values()) == {1}  # none sent twice
    jobs = jobs_of(config["INTAKE_DATABASE_URL"], JobKind.EMAIL)
    assert {job.external_id for job in jobs} == set(message_ids)
    assert {job.attempts for job in jobs} == {1}


def test_a_salesforce_sync_the_database_stops_under_is_done_once_when_it_is_back(
    postgres: PostgresServer, app: Flask, config: dict[str, Any], salesforce: Any
) -> None:
    """Salesforce has made the lead and its task when the database stops, before the worker
    can store the lead's id: the job goes back in the queue once the database is back, and
    its second try finds the lead and the task instead of making them again."""
    answer_delay = 2.0  # seconds: the emulator does the work, then holds its answer back
    assert submit(app.test_client(), "/opstartshjaelp/", VALID_HELP).status_code == 303
    salesforce.delay_next(answer_delay)
    settings = use_salesforce(config, salesforce)
    worker = start_worker(settings, SALESFORCE_MATCH_CONTACTS=0, INTAKE_WORKER_POLL_SECONDS=0.1)
    try:
        wait_for(lambda: salesforce.records_json().get("Task"), WAIT, "the lead and its task")
        seen_at = time.monotonic()
        postgres.stop()
        # The answer comes, and storing the lead's id fails (nothing to watch for: wait).
        time.sleep(max(0.0, seen_at + answer_delay + 1 - time.monotonic()))
        postgres.start()
        wait_for(
            lambda: (
                {job.status for job in jobs_of(config["INTAKE_DATABASE_URL"])} == {JobStatus.DONE}
            ),
            WAIT,
            "every job to be done",
        )
        assert worker.poll() is None  # it waited the outage out
    finally:
        log = stop(worker)
    assert worker.returncode == 0, log
    records = salesforce.records_json()
    assert len(records["Lead"]) == 1
    assert len(records["Task"]) == 1
    assert records["Task"][0]["WhoId"] == records["Lead"][0]["Id"]
    engine = create_engine(config["INTAKE_DATABASE_URL"])
    with Session(engine) as session:
        salesforce_id = session.scalars(select(Submission.salesforce_id)).one()
    engine.dispose()
    assert salesforce_id == records["Lead"][0]["Id"]  # the request links to its lead
