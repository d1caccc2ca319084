"""The worker against an emulator that answers as BL's org would on an ordinary day: its
duplicate rule, campaign memberships, converted leads, consultants' own edits, two leads with
one external id, the JWT audience. Over real HTTPS; each test checks the leads, tasks and
memberships afterwards (none missing, none doubled), the jobs and the API requests."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from crm_sync.emulator.org import DuplicateRuleAction, ValidationRule
from intake import create_app
from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus, Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.settings import send_mail_to, use_salesforce

EXT = "Intake_Submission_Id__c"


@pytest.fixture
def config(config, salesforce, smtp):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


def crm_jobs(db) -> list[DeliveryJob]:
    db.expire_all()
    return list(
        db.scalars(
            select(DeliveryJob)
            .where(DeliveryJob.kind == JobKind.SALESFORCE)
            .order_by(DeliveryJob.id)
        )
    )


def records(salesforce, sobject: str) -> list[dict[str, Any]]:
    return list(salesforce.records[sobject].values())


def sync(app, passes: int = 1) -> None:
    """Run the worker; between passes wait out the (test-sized) backoff."""
    for n in range(passes):
        if n:
            time.sleep(0.06)
        Worker(app).run_once()


def api_calls(salesforce, since: int) -> list[str]:
    """The API requests since the `since`-th, as `METHOD path-after-version`."""
    return [f"{r.method} {r.path.split('/v62.0/', 1)[-1]}" for r in salesforce.requests[since:]]


def done_with(db, salesforce, who_id: str) -> dict[str, Any]:
    """The one job is done with `who_id`, the one lead is there, with one task on `who_id`."""
    (job,) = crm_jobs(db)
    assert (job.status, job.external_id) == (JobStatus.DONE, who_id)
    assert len(records(salesforce, "Lead")) == 1
    (task,) = records(salesforce, "Task")
    assert task["WhoId"] == who_id
    return task


# ------------------------------------------------------------------------------ duplicates


def test_ordering_twice_and_then_asking_for_help_makes_three_leads_past_the_duplicate_rule(
    app, client, db, salesforce, smtp
):
    """The standard lead duplicate rule alerts on the second lead of a person; allowSave lets
    each request have its lead (and the start-up request its task)."""
    salesforce.org.duplicate_rule = DuplicateRuleAction.ALERT
    submit(client, "/pjecer/", VALID_ORDER)
    sync(app)
    submit(client, "/pjecer/", VALID_ORDER)
    submit(client, "/opstartshjaelp/", VALID_HELP)
    before = len(salesforce.requests)
    sync(app)

    leads = records(salesforce, "Lead")
    assert len(leads) == 3
    assert len({lead[EXT] for lead in leads}) == 3
    (task,) = records(salesforce, "Task")
    help_request = db.scalars(select(Submission).where(Submission.kind == "startup_help")).one()
    assert task["WhoId"] == help_request.salesforce_id
    assert [j.status for j in crm_jobs(db)] == [JobStatus.DONE] * 3
    assert api_calls(salesforce, before) == ["POST composite"]  # both in one request
    lead_write = salesforce.requests[before].body["compositeRequest"][0]
    assert lead_write["httpHeaders"]["Sforce-Duplicate-Rule-Header"] == "allowSave=true"
    note = smtp.to("jbh@bl.dk")[-1].body("plain")
    assert f"Leadet i Salesforce: {help_request.salesforce_url}" in note


def test_a_blocking_duplicate_rule_puts_the_follow_up_on_the_existing_lead(
    app, client, db, salesforce
):
    salesforce.org.duplicate_rule = DuplicateRuleAction.BLOCK
    submit(client, "/pjecer/", VALID_ORDER)
    sync(app)
    (existing,) = records(salesforce, "Lead")
    submit(client, "/opstartshjaelp/", VALID_HELP)
    submit(client, "/pjecer/", VALID_ORDER, **{"quantity-kommunesamarbejde": "5"})
    sync(app)

    assert [lead["Id"] for lead in records(salesforce, "Lead")] == [existing["Id"]]
    tasks = records(salesforce, "Task")
    assert [t["WhoId"] for t in tasks] == [existing["Id"]] * 2  # the request's, and the order's
    assert len({t["Subject"] for t in tasks}) == 2
    assert [j.status for j in crm_jobs(db)] == [JobStatus.DONE] * 3
    later = db.scalars(select(Submission).order_by(Submission.id)).all()[1:]
    assert {(s.salesforce_id, s.salesforce_object) for s in later} == {(existing["Id"], "Lead")}


# ------------------------------------------------------------------------------ chunks


def test_six_start_up_requests_with_a_campaign_are_sent_in_one_request(build_app, db, salesforce):
    """Interleaved Task, CampaignMember, Task, … would be 12 chunks; grouped by type, 2."""
    campaign = salesforce.add_record("Campaign", {"Name": "Kommunesamarbejde 2026"})
    app = build_app(SALESFORCE_CAMPAIGN_ID=campaign)
    client = app.test_client()
    for n in range(6):
        submit(client, "/opstartshjaelp/", VALID_HELP, email=f"helper{n}@bolig.dk")
    before = len(salesforce.requests)
    sync(app)

    leads = {lead["Id"] for lead in records(salesforce, "Lead")}
    assert len(leads) == 6
    assert sorted(t["WhoId"] for t in records(salesforce, "Task")) == sorted(leads)
    members = records(salesforce, "CampaignMember")
    assert sorted(m["LeadId"] for m in members) == sorted(leads)
    assert {m["CampaignId"] for m in members} == {campaign}
    assert [j.status for j in crm_jobs(db)] == [JobStatus.DONE] * 6
    # The contact index's first load, then everything in one Composite.
    assert api_calls(salesforce, before) == ["GET query/", "POST composite"]


# ------------------------------------------------------------------------------ conversion


def test_a_lead_converted_before_the_retry_counts_as_done(build_app, db, salesforce):
    """Salesforce makes lead, task and membership but answers too late; a consultant converts
    the lead; the retry finds it converted, and its task and membership on the contact."""
    campaign = salesforce.add_record("Campaign", {"Name": "Kommunesamarbejde 2026"})
    app = build_app(
        SALESFORCE_CAMPAIGN_ID=campaign,
        SALESFORCE_TIMEOUT_SECONDS=0.5,
        SALESFORCE_MATCH_CONTACTS=False,  # the first request is the write
    )
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    salesforce.delay_next(1.5)
    sync(app)
    (job,) = crm_jobs(db)
    assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
    time.sleep(1.5)
    (lead,) = records(salesforce, "Lead")
    contact = salesforce.convert_lead(lead["Id"])

    before = len(salesforce.requests)
    sync(app)

    done_with(db, salesforce, contact)
    (member,) = records(salesforce, "CampaignMember")
    assert member["ContactId"] == contact
    submission = db.scalars(select(Submission)).one()
    assert (submission.salesforce_id, submission.salesforce_object) == (contact, "Contact")
    # The look-ups (lead, then its tasks), then the membership, which exists: DUPLICATE_VALUE.
    assert api_calls(salesforce, before) == ["GET query/", "GET query/", "POST composite"]


def test_a_dead_job_requeued_after_the_lead_was_converted_puts_the_missing_task_on_the_contact(
    app, client, db, salesforce
):
    # A Task validation rule makes the task fail: the lead is made, the job dead.
    salesforce.org.validation_rules.append(
        ValidationRule("Task", "Emne_kort", "Subject", "Emnet skal være kort", r".{0,20}")
    )
    submit(client, "/opstartshjaelp/", VALID_HELP)
    sync(app)
    (job,) = crm_jobs(db)
    assert job.status is JobStatus.DEAD
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION: Emnet skal være kort" in job.last_error
    (lead,) = records(salesforce, "Lead")
    assert records(salesforce, "Task") == []
    # The admin relaxes the rule, a consultant converts the lead, staff retry the job.
    salesforce.org.validation_rules.clear()
    contact = salesforce.convert_lead(lead["Id"])
    result = app.test_cli_runner().invoke(args=["intake", "jobs", "retry", str(job.id)])
    assert result.exit_code == 0, result.output

    sync(app)

    task = done_with(db, salesforce, contact)
    assert task["Subject"].startswith("Følg op på OH-")


# ------------------------------------------------------------------------------ edits


def test_a_retry_leaves_a_consultants_changes_alone(build_app, db, salesforce):
    """Owner, Company and Description as a consultant corrected them stay corrected; the
    lead is written once, with the assignment header, and never again."""
    # Without contact matching the first request is the write.
    app = build_app(SALESFORCE_TIMEOUT_SECONDS=0.5, SALESFORCE_MATCH_CONTACTS=False)
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    salesforce.delay_next(1.5)
    sync(app)
    time.sleep(1.5)
    (lead,) = records(salesforce, "Lead")
    salesforce.records["Lead"][lead["Id"]].update(
        OwnerId="005000000000ANNAAA",
        Company="Boligselskabet Sønderå (rettet)",
        Description="Ringet op 4/12 – vil have møde i januar.",
    )

    before = len(salesforce.requests)
    sync(app)

    (lead,) = records(salesforce, "Lead")
    assert lead["OwnerId"] == "005000000000ANNAAA"
    assert lead["Company"] == "Boligselskabet Sønderå (rettet)"
    assert lead["Description"] == "Ringet op 4/12 – vil have møde i januar."
    assert len(records(salesforce, "Task")) == 1
    assert [j.status for j in crm_jobs(db)] == [JobStatus.DONE]
    # The retry only looked: the lead, then its task; nothing to write.
    assert api_calls(salesforce, before) == ["GET query/", "GET query/"]
    writes = [r for r in salesforce.requests if r.method in ("PATCH", "POST")]
    (first_write,) = writes  # the one Composite that made lead and task
    (lead_write,) = [s for s in first_write.body["compositeRequest"] if s["referenceId"] == "lead0"]
    assert lead_write["httpHeaders"]["Sforce-Auto-Assign"] == "TRUE"
    assert EXT not in lead_write["body"]  # the external id is in the URL only
    assert lead_write["url"].endswith(f"/sobjects/Lead/{EXT}/{lead[EXT]}")


# ------------------------------------------------------------------------------ 300


def test_two_leads_with_one_external_id_make_a_clear_dead_job(app, client, db, salesforce):
    submit(client, "/pjecer/", VALID_ORDER)
    public_id = db.scalars(select(Submission.public_id)).one()
    for company in ("Sønderå", "Sønderå (kopi)"):  # e.g. copied by an import
        salesforce.add_record("Lead", {"LastName": "Bøgh", "Company": company, EXT: public_id})
    sync(app)
    (job,) = crm_jobs(db)
    assert (job.status, job.attempts) == (JobStatus.DEAD, 1)
    assert f"two leads carry external id {public_id}" in job.last_error
    assert "to leads i Salesforce har samme eksterne id" in job.last_error
    assert len(records(salesforce, "Lead")) == 2


# ------------------------------------------------------------------------------ JWT and https


@pytest.fixture
def rsa_key_file(tmp_path, salesforce):
    """A connected app's certificate key pair: the private key for us, the public for the org."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "salesforce.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    salesforce.jwt_public_key_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    yield path
    salesforce.jwt_public_key_pem = None


def jwt_app(build_app, salesforce, key_file, **settings):
    return build_app(
        SALESFORCE_CLIENT_SECRET=None,
        SALESFORCE_USERNAME=salesforce.username,
        SALESFORCE_PRIVATE_KEY_FILE=str(key_file),
        **settings,
    )


def test_the_jwt_names_salesforces_audience_not_the_login_url(
    build_app, db, salesforce, rsa_key_file
):
    app = jwt_app(build_app, salesforce, rsa_key_file)
    assert app.extensions["intake"].salesforce.jwt_audience == "https://login.salesforce.com"
    submit(app.test_client(), "/pjecer/", VALID_ORDER)
    sync(app)
    assert [j.status for j in crm_jobs(db)] == [JobStatus.DONE]


def test_a_sandbox_takes_the_test_audience_set_by_setting(build_app, db, salesforce, rsa_key_file):
    salesforce.org.sandbox = True  # the emulator answers as a sandbox, at its own URL
    wrong = jwt_app(build_app, salesforce, rsa_key_file)
    submit(wrong.test_client(), "/pjecer/", VALID_ORDER)
    sync(wrong)
    (job,) = crm_jobs(db)
    assert job.status is JobStatus.PENDING  # a refused login waits, and says why
    assert "audience is invalid" in job.last_error

    right = jwt_app(
        build_app, salesforce, rsa_key_file, SALESFORCE_JWT_AUDIENCE="https://test.salesforce.com"
    )
    time.sleep(0.06)
    sync(right)
    assert [j.status for j in crm_jobs(db)] == [JobStatus.DONE]


def test_an_http_login_url_stops_the_app_at_start(config):
    config["SALESFORCE_LOGIN_URL"] = config["SALESFORCE_LOGIN_URL"].replace("https", "http")
    with pytest.raises(RuntimeError, match=r"SALESFORCE_LOGIN_URL .* must be an https:// URL"):
        create_app(config)


def test_crm_check_says_the_audience_cannot_work(build_app, salesforce, rsa_key_file):
    app = jwt_app(build_app, salesforce, rsa_key_file, SALESFORCE_JWT_AUDIENCE=salesforce.url)
    result = app.test_cli_runner().invoke(args=["intake", "crm", "check"])
    assert result.exit_code == 1
    assert f"JWT aud {salesforce.url}" in result.output
    assert "audience is invalid" in result.output  # the login Salesforce refused
