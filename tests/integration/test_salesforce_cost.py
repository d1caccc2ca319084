"""What the Salesforce sync costs in API requests (each counts against the org's daily
allowance), and the contact index that keeps a look-up out of every send. Counted by the
emulator over real HTTPS: one submission alone, a burst of 100, a burst whose first try
failed; with the standard duplicate rule on and a campaign set."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from crm_sync.emulator.org import DuplicateRuleAction
from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus, SalesforceContact, Submission
from tests.support.emulator_client import api, trusting_session
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.settings import send_mail_to, use_salesforce


@pytest.fixture
def config(config, salesforce, smtp):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


@pytest.fixture
def org(build_app, salesforce):
    """The org as most have it: the standard lead duplicate rule on; a campaign set."""
    salesforce.org.duplicate_rule = DuplicateRuleAction.ALERT
    campaign = salesforce.add_record("Campaign", {"Name": "Kommunesamarbejde 2026"})
    return build_app(SALESFORCE_CAMPAIGN_ID=campaign)


def crm_statuses(db) -> set[JobStatus]:
    db.expire_all()
    return set(db.scalars(select(DeliveryJob.status).where(DeliveryJob.kind == JobKind.SALESFORCE)))


def salesforce_worker(app) -> Worker:
    """A worker for the Salesforce jobs only (the e-mails are not what is counted)."""
    channels = [c for c in app.extensions["intake"].channels if c.kind is JobKind.SALESFORCE]
    return Worker(app, channels=channels)


def burst(app, count: int, start: int = 0) -> None:
    client = app.test_client()
    for n in range(start, start + count):
        if n % 2:
            submit(client, "/opstartshjaelp/", VALID_HELP, email=f"helper{n}@bolig.dk")
        else:
            submit(client, "/pjecer/", VALID_ORDER, email=f"orderer{n}@bolig.dk")


def check_synced(db, salesforce, count: int) -> None:
    """Every submission has its lead, every start-up request its task, every lead its
    membership: none missing, none doubled."""
    leads = list(salesforce.records["Lead"].values())
    assert len(leads) == len({lead["Intake_Submission_Id__c"] for lead in leads}) == count
    helps = db.scalars(select(Submission).where(Submission.kind == "startup_help")).all()
    assert sorted(t["WhoId"] for t in salesforce.records["Task"].values()) == sorted(
        s.salesforce_id for s in helps
    )
    members = sorted(m["LeadId"] for m in salesforce.records["CampaignMember"].values())
    assert members == sorted(lead["Id"] for lead in leads)
    assert crm_statuses(db) == {JobStatus.DONE}


def test_one_submission_alone_costs_one_request(org, db, salesforce):
    client = org.test_client()
    submit(client, "/opstartshjaelp/", VALID_HELP)
    salesforce_worker(org).run_once()  # the first send also loads the contact index
    costs = []
    for n in range(3):
        submit(client, "/pjecer/", VALID_ORDER, email=f"orderer{n}@bolig.dk")
        before = salesforce.api_request_count()
        salesforce_worker(org).run_once()
        costs.append(salesforce.api_request_count() - before)
    assert costs == [1, 1, 1]
    check_synced(db, salesforce, 4)


def test_a_burst_of_100_costs_at_most_three(org, db, salesforce):
    burst(org, 100)
    before = salesforce.api_request_count()
    assert salesforce_worker(org).run_once() == 100
    assert salesforce.api_request_count() - before <= 3
    check_synced(db, salesforce, 100)


@pytest.mark.parametrize(
    "outage",
    [
        lambda sf: sf.fail_next(1, 503, "SERVER_UNAVAILABLE", "Try again later"),
        lambda sf: setattr(sf.org, "maintenance", True),
    ],
    ids=["503", "maintenance"],
)
def test_a_burst_of_100_whose_first_try_failed_costs_at_most_six(org, db, salesforce, outage):
    burst(org, 100)
    before = salesforce.api_request_count()
    outage(salesforce)
    salesforce_worker(org).run_once()
    assert crm_statuses(db) == {JobStatus.PENDING}
    salesforce.org.maintenance = False
    time.sleep(0.06)  # past the (test-sized) backoff, one for all: they failed together
    assert salesforce_worker(org).run_once() == 100
    assert salesforce.api_request_count() - before <= 6
    check_synced(db, salesforce, 100)


def test_jobs_that_failed_one_by_one_are_retried_together(org, db, salesforce):
    """During an outage submissions keep coming; each new one takes the waiting ones with
    it, and once Salesforce is back they all go in one batch, not one per jittered time."""
    salesforce.org.maintenance = True
    for start in range(0, 60, 20):
        burst(org, 20, start)
        salesforce_worker(org).run_once()
        time.sleep(0.02)
    assert crm_statuses(db) == {JobStatus.PENDING}
    salesforce.org.maintenance = False
    time.sleep(0.06)
    before = salesforce.api_request_count()
    assert salesforce_worker(org).run_once() == 60
    assert salesforce.api_request_count() - before <= 3
    check_synced(db, salesforce, 60)


# ------------------------------------------------------------------------------ contact index


def test_the_index_holds_no_addresses_and_follows_salesforces_changes(build_app, db, salesforce):
    app = build_app(SALESFORCE_CONTACT_INDEX_MINUTES=0)  # refreshed before every send
    kept = salesforce.add_record("Contact", {"LastName": "Holm", "Email": "holm@bolig.dk"})
    submit(app.test_client(), "/pjecer/", VALID_ORDER, email="holm@bolig.dk")
    salesforce_worker(app).run_once()
    assert [r.path.rsplit("/", 2)[-2] for r in salesforce.requests[:1]] == ["query"]  # full
    assert db.scalars(select(SalesforceContact.contact_id)).all() == [kept]
    assert "@" not in db.scalars(select(SalesforceContact.email_key)).one()

    # A contact made in Salesforce since, and the first one deleted: the next refresh, with
    # queryAll and only what changed, sees both.
    with trusting_session(salesforce) as session:
        other = api(salesforce, session)
        new = other.Contact.create({"LastName": "Bøgh", "Email": "aase.boegh@xn--snder-qra2k.dk"})
        other.Contact.delete(kept)
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    before = len(salesforce.requests)
    salesforce_worker(app).run_once()
    refresh = salesforce.requests[before]
    assert refresh.path.endswith("/queryAll/") and "SystemModstamp" in refresh.query
    db.expire_all()
    assert db.scalars(select(SalesforceContact.contact_id)).all() == [new["id"]]
    (task,) = [t for t in salesforce.records["Task"].values() if t["WhoId"] == new["id"]]
    assert task["Subject"].startswith("Følg op på OH-")
    assert salesforce.records["Lead"] == {}  # both went to their contact


def test_a_contact_deleted_since_the_index_saw_it_gets_a_lead_on_the_next_try(
    app, client, db, salesforce
):
    contact = salesforce.add_record(
        "Contact", {"LastName": "Bøgh-Ørsted", "Email": "aase.boegh@xn--snder-qra2k.dk"}
    )
    submit(client, "/pjecer/", VALID_ORDER, email="first@bolig.dk")
    Worker(app).run_once()  # the index now knows her
    with trusting_session(salesforce) as session:
        api(salesforce, session).Contact.delete(contact)
    submit(client, "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    db.expire_all()
    job = db.scalars(
        select(DeliveryJob).where(DeliveryJob.kind == JobKind.SALESFORCE).order_by(DeliveryJob.id)
    ).all()[-1]
    assert job.status is JobStatus.PENDING
    assert "findes ikke længere i Salesforce" in job.last_error
    time.sleep(0.06)
    Worker(app).run_once()
    assert crm_statuses(db) == {JobStatus.DONE}
    help_lead = salesforce.find_records("Lead", Email="aase.boegh@xn--snder-qra2k.dk")
    assert len(help_lead) == 1


def test_a_new_secret_key_reloads_the_index(build_app, salesforce):
    salesforce.add_record("Contact", {"LastName": "Holm", "Email": "holm@bolig.dk"})
    first = build_app()
    submit(first.test_client(), "/pjecer/", VALID_ORDER)
    salesforce_worker(first).run_once()
    rotated = build_app(SECRET_KEY="a-new-secret-key", SALESFORCE_CONTACT_INDEX_MINUTES=0)
    submit(rotated.test_client(), "/pjecer/", VALID_ORDER, email="holm@bolig.dk")
    before = len(salesforce.requests)
    salesforce_worker(rotated).run_once()
    assert salesforce.requests[before].path.endswith("/query/")  # a full load, not changes
    (task,) = salesforce.records["Task"].values()  # matched with the new key
    assert task["WhoId"] == salesforce.find_records("Contact")[0]["Id"]
