"""Salesforce down for a while, in every way it goes down: its daily allowance spent, a
maintenance window, 429s, 5xx, timeouts, connection errors. The jobs wait however many tries
it takes (never dead), /healthz and /metrics say the CRM is behind and since when, and once
Salesforce is back every lead, task and membership is there exactly once. Real HTTPS against
the emulator; the backoff is test-sized (INTAKE_RETRY_BASE_SECONDS, SALESFORCE_RETRY_MAX_*).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crm_sync.emulator import SalesforceEmulator
from intake.delivery.retry import RetryPolicy
from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus
from tests.support.emulator_client import api, trusting_session
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.metrics import scrape, value
from tests.support.settings import send_mail_to, use_salesforce

PASSES = 10  # more tries than INTAKE_MAX_ATTEMPTS (8), after which an e-mail job is dead


@pytest.fixture
def config(config, salesforce, smtp):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


def crm_jobs(db) -> list[DeliveryJob]:
    db.expire_all()
    return list(db.scalars(select(DeliveryJob).where(DeliveryJob.kind == JobKind.SALESFORCE)))


def passes(app, n: int) -> None:
    for _ in range(n):
        Worker(app).run_once()
        time.sleep(0.06)  # past the (test-sized) backoff


def spend_the_allowance(sf: SalesforceEmulator) -> Callable[[], None]:
    sf.daily_api_limit = sf.api_usage() + 3
    with trusting_session(sf) as session:
        other_integration = api(sf, session)
        for _ in range(3):
            other_integration.limits()  # the org's allowance is spent, by someone else
    return lambda: sf.advance_clock(24 * 3600)  # a day later the window has moved on


def maintenance(sf: SalesforceEmulator) -> Callable[[], None]:
    sf.org.maintenance = True  # reads go on, every write is refused

    def over() -> None:
        sf.org.maintenance = False

    return over


def too_many_requests(sf: SalesforceEmulator) -> Callable[[], None]:
    sf.too_many_requests(n=10_000, retry_after=0)
    return sf.clear_faults


def unavailable(sf: SalesforceEmulator) -> Callable[[], None]:
    sf.fail_next(10_000, 503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
    return sf.clear_faults


def unknown_exception(sf: SalesforceEmulator) -> Callable[[], None]:
    sf.fail_next(10_000, 500, "UNKNOWN_EXCEPTION", "An unexpected error occurred")
    return sf.clear_faults


def locked_rows(sf: SalesforceEmulator) -> Callable[[], None]:
    sf.fail_next(10_000, 400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access")
    return sf.clear_faults


@pytest.mark.parametrize(
    "fault",
    [
        spend_the_allowance,
        maintenance,
        too_many_requests,
        unavailable,
        unknown_exception,
        locked_rows,
    ],
)
def test_an_outage_is_waited_out_and_nothing_is_lost_or_doubled(build_app, db, salesforce, fault):
    campaign = salesforce.add_record("Campaign", {"Name": "Kommunesamarbejde 2026"})
    app = build_app(SALESFORCE_CAMPAIGN_ID=campaign)
    client = app.test_client()
    submit(client, "/pjecer/", VALID_ORDER)
    submit(client, "/opstartshjaelp/", VALID_HELP, email="bo@bolig.dk")
    started = datetime.now(UTC)
    recover = fault(salesforce)

    passes(app, PASSES)

    jobs = crm_jobs(db)
    assert {job.status for job in jobs} == {JobStatus.PENDING}  # never dead
    assert min(job.attempts for job in jobs) >= PASSES
    health = client.get("/healthz")
    assert health.status_code == 200  # the app is fine; Salesforce is behind
    crm = health.json["crm"]
    assert (crm["status"], crm["waiting"]) == ("behind", 2)
    since = datetime.fromisoformat(crm["behind_since"]).replace(tzinfo=UTC)
    assert started - timedelta(seconds=1) <= since <= started + timedelta(seconds=5)
    samples = scrape(client)
    assert value(samples, "intake_crm_behind") == 1
    assert value(samples, "intake_crm_waiting_jobs") == 2
    assert value(samples, "intake_crm_behind_since_timestamp_seconds") == pytest.approx(
        since.timestamp(), abs=1
    )
    assert salesforce.records["Task"] == {}

    recover()
    before = len(salesforce.requests)
    passes(app, 1)

    assert {job.status for job in crm_jobs(db)} == {JobStatus.DONE}
    leads = list(salesforce.records["Lead"].values())
    assert len(leads) == 2
    (task,) = salesforce.records["Task"].values()
    assert task["WhoId"] in {lead["Id"] for lead in leads}
    members = sorted(m["LeadId"] for m in salesforce.records["CampaignMember"].values())
    assert members == sorted(lead["Id"] for lead in leads)
    # Both retried together: a look-up of their leads (none yet) and one Composite (and, for
    # the faults that also stopped the contact index's first load, that load).
    assert len(salesforce.requests) - before <= 3
    assert client.get("/healthz").json["crm"]["status"] == "ok"
    assert value(scrape(client), "intake_crm_behind") == 0


def test_timeouts_after_salesforce_did_the_work_make_nothing_twice(build_app, db, salesforce):
    app = build_app(SALESFORCE_TIMEOUT_SECONDS=0.2, SALESFORCE_MATCH_CONTACTS=False)
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    salesforce.delay_next(0.5, n=10_000)  # does the work, answers too late
    passes(app, 4)
    (job,) = crm_jobs(db)
    assert (job.status, job.attempts) == (JobStatus.PENDING, 4)
    assert "Timeout" in job.last_error or "timed out" in job.last_error

    salesforce.clear_faults()
    time.sleep(0.5)  # the last late answers
    passes(app, 1)
    (job,) = crm_jobs(db)
    assert job.status is JobStatus.DONE
    assert len(salesforce.records["Lead"]) == 1
    assert len(salesforce.records["Task"]) == 1


def test_connection_errors_are_waited_out(build_app, db, salesforce):
    closed = "https://127.0.0.1:9"  # the discard port: nothing listens there
    app = build_app(SALESFORCE_LOGIN_URL=closed, SALESFORCE_TIMEOUT_SECONDS=2)
    submit(app.test_client(), "/pjecer/", VALID_ORDER)
    passes(app, PASSES)
    (job,) = crm_jobs(db)
    assert (job.status, job.attempts) == (JobStatus.PENDING, PASSES)
    assert "Salesforce" in job.last_error and "kunne ikke nås" in job.last_error
    assert app.test_client().get("/healthz").json["crm"]["status"] == "behind"


def test_retry_after_is_honoured(build_app, db, salesforce):
    app = build_app(SALESFORCE_MATCH_CONTACTS=False)
    submit(app.test_client(), "/pjecer/", VALID_ORDER)
    salesforce.too_many_requests(n=1, retry_after=120)
    Worker(app).run_once()
    (job,) = crm_jobs(db)
    assert job.status is JobStatus.PENDING
    assert "429" in job.last_error
    wait = (job.next_attempt_at - datetime.now(UTC)).total_seconds()
    assert 110 < wait <= 120  # not the test-sized backoff: what Salesforce asked for


def test_email_jobs_still_go_dead_after_their_attempts(build_app, db, salesforce, smtp):
    """The never-dead schedule is Salesforce's; an e-mail that keeps failing still ends dead."""
    app = build_app(MAIL_PORT=9, INTAKE_MAX_ATTEMPTS=2)  # nothing listens on port 9
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    salesforce.org.maintenance = True
    passes(app, 3)
    db.expire_all()
    statuses = {job.kind: job.status for job in db.scalars(select(DeliveryJob))}
    assert statuses == {JobKind.EMAIL: JobStatus.DEAD, JobKind.SALESFORCE: JobStatus.PENDING}


@pytest.mark.parametrize("attempts", [1, 8, 9, 100, 10_000])
def test_salesforces_schedule_never_gives_up_and_tries_at_least_every_15_minutes(attempts):
    policy = RetryPolicy(base_seconds=30, max_seconds=900, max_attempts=None)
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    at = policy.next_attempt(attempts, now, rand=lambda: 1.0)
    assert at is not None
    assert timedelta(seconds=15) <= at - now <= timedelta(minutes=15)


def test_a_day_of_retries_is_about_a_hundred_tries():
    """Riding out the daily allowance: 24 hours of the default schedule."""
    policy = RetryPolicy(base_seconds=30, max_seconds=900, max_attempts=None)
    start = now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    tries = 0
    while now - start < timedelta(hours=24):
        tries += 1
        next_try: Any = policy.next_attempt(tries, now, rand=lambda: 0.5)
        now = next_try
    assert 100 <= tries <= 140
