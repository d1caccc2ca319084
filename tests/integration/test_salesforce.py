"""Salesforce: the real simple-salesforce client over real HTTPS against the emulator."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import select

from intake.delivery.salesforce import SalesforceChannel
from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus, Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.settings import send_mail_to, use_salesforce


@pytest.fixture
def config(config, salesforce, smtp):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


def crm_jobs(db):
    db.expire_all()
    return db.scalars(select(DeliveryJob).where(DeliveryJob.kind == JobKind.SALESFORCE)).all()


def leads(salesforce):
    return list(salesforce.records["Lead"].values())


def sync(app) -> Worker:
    worker = Worker(app)
    worker.run_once()
    return worker


def test_a_pamphlet_order_becomes_one_lead_with_the_right_fields(app, client, db, salesforce):
    submit(client, "/pjecer/", VALID_ORDER)
    sync(app)

    (lead,) = leads(salesforce)
    submission = db.scalars(select(Submission)).one()
    assert lead["Company"] == "Boligselskabet Sønderå Ærø"
    assert (lead["FirstName"], lead["LastName"]) == ("Åse", "Bøgh-Ørsted")
    assert lead["Email"] == "aase.boegh@xn--snder-qra2k.dk"  # sønderå.dk, as Salesforce takes it
    assert lead["Phone"] == "+45 33 76 20 40"
    assert lead["Title"] == "Forretningsfører"
    assert (lead["Street"], lead["PostalCode"], lead["City"], lead["CountryCode"]) == (
        "Søndergade 7, 1. sal",
        "5970",
        "Ærøskøbing",
        "DK",
    )
    assert lead["LeadSource"] == "Web"
    assert lead["Intake_Submission_Id__c"] == submission.public_id
    assert f"Pjecebestilling {submission.reference}" in lead["Description"]
    assert "Ærø Kommune (492), 3. kreds" in lead["Description"]
    assert "- 25 stk. Kommunesamarbejde – Hvorfor og hvordan?" in lead["Description"]
    # No Salesforce user in the routing: Salesforce's assignment rules choose the owner.
    assert salesforce.auto_assign_headers[lead["Id"]] == "TRUE"
    assert salesforce.records["Task"] == {}  # an order gets no follow-up task
    (job,) = crm_jobs(db)
    assert (job.status, job.external_id) == (JobStatus.DONE, lead["Id"])
    assert submission.salesforce_id == lead["Id"]
    assert submission.salesforce_url == f"{salesforce.url}/lightning/r/Lead/{lead['Id']}/view"


def test_a_start_up_request_gets_a_lead_and_a_task_in_one_composite_request(
    app, client, db, salesforce
):
    submit(client, "/opstartshjaelp/", VALID_HELP)
    before = salesforce.api_request_count()
    worker = sync(app)

    (lead,) = leads(salesforce)
    (task,) = salesforce.records["Task"].values()
    assert task["WhoId"] == lead["Id"]
    reference = db.scalars(select(Submission.reference)).one()
    assert task["Subject"] == f"Følg op på {reference}: Boligselskabet Sønderå Ærø"
    assert date.fromisoformat(task["ActivityDate"]) > date.today()
    assert "Emner: Forsyning og takster, Styringsdialog" in lead["Description"]
    assert "Kommunesamarbejde i dag: Nej, ikke endnu" in lead["Description"]
    # The contact index's first load, then one Composite request for lead and task.
    used = [r.path.split("/v62.0/")[-1] for r in salesforce.requests[before:]]
    assert used == ["query/", "composite"]
    channel = worker.channels[JobKind.SALESFORCE]
    assert isinstance(channel, SalesforceChannel)
    assert channel.client.api_requests == 2


def test_the_consultants_salesforce_user_owns_lead_and_task(build_app, tmp_path, salesforce):
    from intake.paths import DATA_DIR

    routing = (DATA_DIR / "routing.toml").read_text(encoding="utf-8")
    before, section, after = routing.partition("[consultants.jbh]")
    after = after.replace('salesforce_user_id = ""', 'salesforce_user_id = "005000000000JBHAA2"', 1)
    path = tmp_path / "routing.toml"
    path.write_text(before + section + after, encoding="utf-8")
    app = build_app()
    imported = app.test_cli_runner().invoke(args=["intake", "routing", "import", str(path)])
    assert imported.exit_code == 0, imported.output

    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    sync(app)
    (lead,) = leads(salesforce)
    (task,) = salesforce.records["Task"].values()
    assert lead["OwnerId"] == task["OwnerId"] == "005000000000JBHAA2"
    assert salesforce.auto_assign_headers[lead["Id"]] == "FALSE"


def test_a_retry_after_a_timeout_makes_no_second_lead_or_task(build_app, db, salesforce):
    # Without the contact look-up the first API request is the write itself.
    app = build_app(SALESFORCE_MATCH_CONTACTS=False, SALESFORCE_TIMEOUT_SECONDS=0.5)
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    salesforce.delay_next(1.5)  # Salesforce does the work, the answer comes too late
    sync(app)
    (job,) = crm_jobs(db)
    assert job.status is JobStatus.PENDING
    assert "Timeout" in job.last_error or "timed out" in job.last_error
    time.sleep(1.5)
    assert len(leads(salesforce)) == 1  # it was written, though we never heard

    time.sleep(0.06)  # past the backoff
    sync(app)
    assert len(leads(salesforce)) == 1
    assert len(salesforce.records["Task"]) == 1
    (job,) = crm_jobs(db)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)


def test_an_expired_session_is_renewed_once(app, client, db, salesforce):
    submit(client, "/pjecer/", VALID_ORDER)
    sync(app)  # logs in
    submit(client, "/pjecer/", VALID_ORDER)
    salesforce.expire_sessions()
    sync(app)
    assert {j.status for j in crm_jobs(db)} == {JobStatus.DONE}
    assert len(leads(salesforce)) == 2


@pytest.mark.parametrize(
    "fault",
    [
        lambda sf: sf.fail_next(1, 503, "SERVER_UNAVAILABLE", "Vedligeholdelse"),
        lambda sf: sf.fail_next(1, 500, "UNKNOWN_EXCEPTION", "Noget gik galt"),
        lambda sf: sf.limit_exceeded(1),
    ],
    ids=["503", "500", "REQUEST_LIMIT_EXCEEDED"],
)
def test_unavailable_and_limits_are_retried_and_succeed_later(app, client, db, salesforce, fault):
    submit(client, "/pjecer/", VALID_ORDER)
    fault(salesforce)
    sync(app)
    (job,) = crm_jobs(db)
    assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
    assert job.last_error
    time.sleep(0.06)  # past the backoff
    sync(app)
    (job,) = crm_jobs(db)
    assert job.status is JobStatus.DONE
    assert len(leads(salesforce)) == 1


def test_a_validation_error_goes_dead_with_salesforces_message(build_app, db, salesforce):
    app = build_app(SALESFORCE_EXTRA_LEAD_FIELDS="Region__c=municipality_name")  # not in the org
    submit(app.test_client(), "/pjecer/", VALID_ORDER)
    sync(app)
    (job,) = crm_jobs(db)
    assert (job.status, job.attempts) == (JobStatus.DEAD, 1)
    assert "INVALID_FIELD" in job.last_error and "Region__c" in job.last_error
    assert leads(salesforce) == []


def test_custom_fields_are_filled_by_configuration(build_app, salesforce):
    salesforce.add_field("Lead", "Kommune__c", length=80)
    salesforce.add_field("Lead", "Kreds__c", field_type="double")
    app = build_app(SALESFORCE_EXTRA_LEAD_FIELDS="Kommune__c=municipality_name,Kreds__c=kreds")
    submit(app.test_client(), "/pjecer/", VALID_ORDER)
    sync(app)
    (lead,) = leads(salesforce)
    assert (lead["Kommune__c"], lead["Kreds__c"]) == ("Ærø", 3)


def test_an_existing_contact_gets_the_task_and_no_new_lead(app, client, db, salesforce, smtp):
    contact = salesforce.add_record(
        "Contact",
        {"FirstName": "Åse", "LastName": "Bøgh-Ørsted", "Email": "AASE.BOEGH@xn--snder-qra2k.dk"},
    )
    submit(client, "/opstartshjaelp/", VALID_HELP)
    sync(app)

    assert leads(salesforce) == []
    (task,) = salesforce.records["Task"].values()
    assert task["WhoId"] == contact
    submission = db.scalars(select(Submission)).one()
    assert (submission.salesforce_id, submission.salesforce_object) == (contact, "Contact")
    note = smtp.to("jbh@bl.dk")[0].body("plain")
    assert "findes allerede som kontakt i Salesforce, så der er ikke oprettet et nyt lead" in note
    assert f"{salesforce.url}/lightning/r/Contact/{contact}/view" in note


def test_the_consultants_email_links_to_the_lead(app, client, db, salesforce, smtp):
    submit(client, "/opstartshjaelp/", VALID_HELP)
    sync(app)  # Salesforce is delivered before the e-mails
    (lead,) = leads(salesforce)
    text = smtp.to("jbh@bl.dk")[0].body("plain")
    assert f"Leadet i Salesforce: {salesforce.url}/lightning/r/Lead/{lead['Id']}/view" in text


def test_the_lead_joins_the_campaign(build_app, salesforce):
    campaign = salesforce.add_record("Campaign", {"Name": "Kommunesamarbejde 2026"})
    app = build_app(SALESFORCE_CAMPAIGN_ID=campaign)
    submit(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    sync(app)
    (lead,) = leads(salesforce)
    (member,) = salesforce.records["CampaignMember"].values()
    assert (member["CampaignId"], member["LeadId"]) == (campaign, lead["Id"])


def test_100_queued_submissions_sync_in_a_handful_of_requests(build_app, db, salesforce):
    campaign = salesforce.add_record("Campaign", {"Name": "Nyhedsbrev"})
    app = build_app(SALESFORCE_CAMPAIGN_ID=campaign)
    client = app.test_client()
    for n in range(50):
        submit(client, "/pjecer/", VALID_ORDER, email=f"orderer{n}@bolig.dk")
        submit(client, "/opstartshjaelp/", VALID_HELP, email=f"helper{n}@bolig.dk")
    before = salesforce.api_request_count()
    leads_only = [c for c in app.extensions["intake"].channels if c.kind is JobKind.SALESFORCE]
    worker = Worker(app, channels=leads_only)
    assert worker.run_once() == 100

    used = salesforce.api_request_count() - before
    print(f"\n100 submissions synced with {used} Salesforce API requests")
    assert used <= 2  # the contact index's first load, and one Composite
    assert len(leads(salesforce)) == 100
    assert len(salesforce.records["Task"]) == 50
    assert len(salesforce.records["CampaignMember"]) == 100
    assert {j.status for j in crm_jobs(db)} == {JobStatus.DONE}
    assert len({lead["Intake_Submission_Id__c"] for lead in leads(salesforce)}) == 100


def test_the_username_password_flow(build_app, salesforce):
    app = build_app(
        SALESFORCE_USERNAME=salesforce.username, SALESFORCE_PASSWORD=salesforce.password
    )
    assert app.extensions["intake"].salesforce.flow.value == "password"
    submit(app.test_client(), "/pjecer/", VALID_ORDER)
    sync(app)
    assert len(leads(salesforce)) == 1


def test_a_refused_login_keeps_the_job_and_says_why(build_app, db, salesforce):
    app = build_app(SALESFORCE_CLIENT_SECRET="wrong")
    submit(app.test_client(), "/pjecer/", VALID_ORDER)
    sync(app)
    (job,) = crm_jobs(db)
    assert job.status is JobStatus.PENDING
    assert "Salesforce afviste login med client_credentials" in job.last_error


def test_the_ca_bundle_holds_even_when_the_environment_names_another(
    app, client, salesforce, monkeypatch
):
    """requests would let REQUESTS_CA_BUNDLE replace a session's own `verify`."""
    import requests

    system = "/etc/ssl/certs/ca-certificates.crt"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", system)
    monkeypatch.setenv("CURL_CA_BUNDLE", system)
    plain = requests.Session()
    plain.verify = str(salesforce.ca_pem_path)
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(f"{salesforce.url}/_emulator/records", timeout=5)
    plain.close()

    submit(client, "/pjecer/", VALID_ORDER)
    sync(app)
    assert len(leads(salesforce)) == 1


def test_crm_check_reports_fields_and_usage(build_app, salesforce):
    result = build_app().test_cli_runner().invoke(args=["intake", "crm", "check"])
    assert result.exit_code == 0, result.output
    assert "External id: Lead.Intake_Submission_Id__c ok" in result.output
    assert "Company                      ← organisation" in result.output
    assert "API usage today: " in result.output and " of 15000 requests" in result.output
    assert "Problems: none" in result.output

    bad = build_app(
        SALESFORCE_EXTRA_LEAD_FIELDS="Kommune_X__c=municipality_name",
        SALESFORCE_EXTERNAL_ID_FIELD="Company",
    )
    result = bad.test_cli_runner().invoke(args=["intake", "crm", "check"])
    assert result.exit_code == 1
    assert "Lead has no field Kommune_X__c (mapped from municipality_name)" in result.output
    assert "Lead.Company is not marked as an External ID" in result.output
