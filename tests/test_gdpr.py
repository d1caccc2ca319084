"""Personal data: `intake purge`, `intake person export` and `intake person erase`, on SQLite and
PostgreSQL, with real SMTP on loopback and the Salesforce emulator over real HTTPS."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from intake.anonymise import address_key
from intake.coverage import last_weeks, requests_per_kreds, requests_per_week
from intake.models import (
    AuditEvent,
    DeliveryJob,
    JobKind,
    JobStatus,
    OrderStatus,
    Submission,
    SubmissionKind,
    utcnow,
)
from intake.outbox import claim
from intake.worker import Worker
from tests.conftest import TEST_SECRET, send_mail_to, sign_in, use_salesforce
from tests.helpers import VALID_HELP, VALID_ORDER, receipt_token_from, submit

AASE = VALID_ORDER["email"]  # aase.boegh@sønderå.dk
OLE = {
    "organisation": "Boligforeningen Vesterport",
    "first_name": "Ole",
    "last_name": "Vestergaard",
    "email": "ole@vesterport.dk",
    "phone": "12345678",
}


@pytest.fixture
def config(config, salesforce, smtp):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


def cli(app: Any, *args: str, **kwargs: Any) -> Any:
    return app.test_cli_runner().invoke(args=["intake", *args], **kwargs)


def send(client: Any, path: str, data: dict[str, Any], **overrides: Any) -> str:
    """Submit a form; the new submission's reference."""
    response = submit(client, path, data, **overrides)
    assert response.status_code == 303, response.get_data(as_text=True)
    return (
        client.get(response.headers["Location"])
        .get_data(as_text=True)
        .split('class="reference">')[1]
        .split("<")[0]
    )


def by_reference(db: Any, reference: str) -> Submission:
    db.expire_all()
    return db.scalars(select(Submission).where(Submission.reference == reference)).one()


def jobs_of(db: Any, reference: str) -> list[DeliveryJob]:
    return list(by_reference(db, reference).jobs)


def age(db: Any, reference: str, days: int) -> None:
    """Pretend the submission came in `days` ago."""
    db.execute(
        update(Submission)
        .where(Submission.reference == reference)
        .values(created_at=utcnow() - timedelta(days=days))
    )
    db.commit()


def audit_events(db: Any, action: str | None = None) -> list[AuditEvent]:
    db.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(db.scalars(query))


def personal_fields_are_gone(submission: Submission) -> None:
    assert submission.anonymised_at is not None
    assert submission.organisation == "(anonymiseret)"
    for name in (
        "first_name",
        "last_name",
        "email",
        "phone",
        "role",
        "cvr",
        "street",
        "postcode",
        "city",
        "attention",
        "note",
        "status_note",
        "participants",
        "message",
    ):
        assert getattr(submission, name) == "", name


# -- purge -----------------------------------------------------------------------------------


def test_purge_anonymises_only_what_is_older_than_the_retention(build_app, db, smtp, salesforce):
    app = build_app(INTAKE_RETENTION_DAYS=30)
    client = app.test_client()
    shipped_order = send(client, "/pjecer/", VALID_ORDER)
    waiting_order = send(client, "/pjecer/", VALID_ORDER, note="Ring før levering")
    old_help = send(client, "/opstartshjaelp/", VALID_HELP)
    recent = send(client, "/pjecer/", {**VALID_ORDER, **OLE})
    Worker(app).run_once()  # everything so far is delivered
    db.execute(
        update(Submission)
        .where(Submission.reference == shipped_order)
        .values(order_status=OrderStatus.SHIPPED, status_note="Pakkenummer 123 til Åse")
    )
    db.commit()
    late = send(client, "/opstartshjaelp/", VALID_HELP)  # its deliveries are still pending
    for reference in (shipped_order, waiting_order, old_help, late):
        age(db, reference, 40)
    age(db, recent, 29)
    weeks = last_weeks(12, utcnow())
    per_week = requests_per_week(db, weeks)
    per_kreds = requests_per_kreds(db, weeks[0].starts, weeks[-1].ends)
    mails_before = len(smtp.messages)

    result = cli(app, "purge")

    assert result.exit_code == 0, result.output
    assert "Anonymised 4 submission(s) received before" in result.output
    assert "(more than 30 days ago): 2 pamphlet order(s), 2 start-up help request(s)" in (
        result.output
    )
    assert "Cancelled 3 delivery job(s) that had not gone out and 1 pamphlet order(s)" in (
        result.output
    )
    assert f"Oldest submission kept: {recent} (pamphlet order, " in result.output
    for reference in (shipped_order, waiting_order, old_help, late):
        personal_fields_are_gone(by_reference(db, reference))
    assert by_reference(db, recent).email == OLE["email"]
    # What the overview counts is kept, so its numbers do not change.
    assert requests_per_week(db, weeks) == per_week
    assert requests_per_kreds(db, weeks[0].starts, weeks[-1].ends) == per_kreds
    shipped = by_reference(db, shipped_order)
    assert (shipped.kind, shipped.municipality_code, shipped.kreds) == (
        SubmissionKind.PAMPHLET_ORDER,
        "492",
        3,
    )
    assert shipped.order_status is OrderStatus.SHIPPED
    assert [(line.title, line.quantity) for line in shipped.lines] == [
        ("Kommunesamarbejde – Hvorfor og hvordan?", 25)
    ]
    assert by_reference(db, old_help).topics == ["forsyning_takster", "styringsdialog"]
    # A waiting order cannot be shipped without its address: it is cancelled.
    assert by_reference(db, waiting_order).order_status is OrderStatus.CANCELLED
    # The late request's receipt and consultant e-mail never go out, nor its lead.
    late_jobs = jobs_of(db, late)
    assert {job.status for job in late_jobs} == {JobStatus.CANCELLED}
    assert all("personoplysninger blev slettet" in job.outcome for job in late_jobs)
    assert {job.status for job in jobs_of(db, recent)} == {JobStatus.DONE}
    Worker(app).run_once()
    assert len(smtp.messages) == mails_before
    assert len(salesforce.records["Lead"]) == 4  # the four delivered before the purge

    (run,) = audit_events(db, "purge")
    assert run.actor == "cli"
    assert "4 henvendelser modtaget før" in run.detail
    anonymised = audit_events(db, "anonymised")
    assert len(anonymised) == 4
    assert {event.actor for event in anonymised} == {"cli"}

    again = cli(app, "purge")
    assert again.exit_code == 0, again.output
    assert "Nothing to anonymise" in again.output
    assert len(audit_events(db, "purge")) == 2  # every run is in the audit log
    assert len(audit_events(db, "anonymised")) == 4
    assert by_reference(db, recent).anonymised_at is None


def test_a_dry_run_counts_and_changes_nothing(build_app, db):
    app = build_app(INTAKE_RETENTION_DAYS=30)
    old = send(app.test_client(), "/pjecer/", VALID_ORDER)
    age(db, old, 31)
    recent = send(app.test_client(), "/opstartshjaelp/", VALID_HELP)

    result = cli(app, "purge", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Dry run, nothing changed: would anonymise 1 submission(s)" in result.output
    assert f"Oldest submission kept: {recent} " in result.output  # after the purge, not before
    assert by_reference(db, old).email == AASE
    assert {job.status for job in jobs_of(db, old)} == {JobStatus.PENDING}
    assert audit_events(db) == []


def test_a_job_claimed_just_before_the_purge_is_cancelled_not_sent(app, client, db, smtp):
    reference = send(client, "/opstartshjaelp/", VALID_HELP)
    # The purge commits after the worker has claimed the receipt but before it sends it.
    db.execute(
        update(Submission)
        .where(Submission.reference == reference)
        .values(anonymised_at=utcnow(), email="", first_name="", last_name="")
    )
    db.commit()

    Worker(app).run_once()

    assert smtp.messages == []
    assert {job.status for job in jobs_of(db, reference)} == {JobStatus.CANCELLED}


def test_the_receipt_of_an_anonymised_submission_says_so(app, client, db):
    response = submit(client, "/pjecer/", VALID_ORDER)
    token = receipt_token_from(response.headers["Location"])
    age(db, by_reference_of(db), 800)
    assert cli(app, "purge").exit_code == 0

    page = client.get(f"/kvittering/{token}")

    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "Oplysningerne er slettet" in html
    assert "sønderå" not in html and "Bøgh" not in html


def by_reference_of(db: Any) -> str:
    return db.scalars(select(Submission.reference)).one()


# -- export ----------------------------------------------------------------------------------


def test_export_has_everything_about_the_person_and_nothing_about_others(app, client, db, tmp_path):
    order = send(client, "/pjecer/", VALID_ORDER)
    help_request = send(client, "/opstartshjaelp/", VALID_HELP, email="AASE.Boegh@SØNDERÅ.dk")
    send(client, "/pjecer/", {**VALID_ORDER, **OLE, "note": "Ole's egen note"})
    Worker(app).run_once()
    output = tmp_path / "aase.json"

    # The domain written as Salesforce shows it (IDNA) finds her too.
    result = cli(app, "person", "export", "Aase.Boegh@xn--snder-qra2k.dk", "--output", str(output))

    assert result.exit_code == 0, result.output
    assert f"Wrote 2 submission(s) to {output}" in result.output
    raw = output.read_bytes().decode("utf-8")
    assert "Bøgh-Ørsted" in raw and "\\u00f8" not in raw  # æøå written as themselves
    data = json.loads(raw)
    assert data["found"] is True
    first, second = data["submissions"]
    assert (first["reference"], second["reference"]) == (order, help_request)
    assert first["kind"] == "pamphlet_order"
    assert (first["first_name"], first["last_name"], first["phone"]) == (
        "Åse",
        "Bøgh-Ørsted",
        "33762040",
    )
    assert (first["street"], first["attention"], first["note"]) == (
        "Søndergade 7, 1. sal",
        "Bjørn Æbelø",
        "Levér gerne før jul – tak!",
    )
    assert first["order_lines"] == [
        {"title": "Kommunesamarbejde – Hvorfor og hvordan?", "quantity": 25}
    ]
    assert first["order_status"] == "new"
    assert {(j["kind"], j["target"], j["status"]) for j in first["deliveries"]} == {
        ("email", "pamphlet_office", "done"),
        ("email", "consultant", "done"),
        ("email", "requester", "done"),
        ("salesforce", "lead", "done"),
    }
    assert first["salesforce_id"].startswith("00Q")
    assert second["message"] == VALID_HELP["message"]
    assert second["participants"] == "Ærøskøbing Boligforening"
    assert data["staff_account"] is None
    assert "Ole" not in raw and "Vesterport" not in raw

    (event,) = audit_events(db, "person_exported")
    assert event.actor == "cli"
    assert f"{order}, {help_request}" in event.detail
    assert address_key(AASE, TEST_SECRET) in event.detail


def test_export_includes_the_audit_events_about_the_submissions(app, client, db, office):
    order = send(client, "/pjecer/", VALID_ORDER)
    page = office.get(f"/admin/orders/{order}")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    office.post(f"/admin/orders/{order}/pack", data={"csrf_token": token})

    result = cli(app, "person", "export", AASE)

    assert result.exit_code == 0, result.output
    (submission,) = json.loads(result.output)["submissions"]
    assert [e["action"] for e in submission["audit_events"]] == ["order_packed"]
    assert submission["audit_events"][0]["actor"] == "bwj@bl.dk"


def test_export_of_an_unknown_address_says_so_and_exits_1(app, client, db, tmp_path):
    send(client, "/pjecer/", VALID_ORDER)
    output = tmp_path / "nobody.json"

    result = cli(app, "person", "export", "nobody@example.dk", "--output", str(output))

    assert result.exit_code == 1
    assert "Nothing is held about that address" in result.output
    assert not output.exists()
    (event,) = audit_events(db, "person_exported")  # looked for, and logged
    assert "0 henvendelser eksporteret" in event.detail


# -- erase -----------------------------------------------------------------------------------


def convert_over_http(salesforce: Any, lead_id: str) -> str:
    """A consultant converts the lead (the emulator's control endpoint)."""
    with requests.Session() as session:
        session.verify = str(salesforce.ca_pem_path)
        session.trust_env = False
        response = session.post(f"{salesforce.url}/_emulator/leads/{lead_id}/convert")
    assert response.status_code == 200, response.text
    return str(response.json()["contactId"])


def lead_of(salesforce: Any, submission: Submission) -> dict[str, Any] | None:
    found = salesforce.find_records("Lead", Intake_Submission_Id__c=submission.public_id)
    return found[0] if found else None


def test_erase_deletes_the_unconverted_lead_and_reports_the_converted_one(
    app, client, db, smtp, salesforce, staff_users
):
    order = send(client, "/pjecer/", VALID_ORDER)
    help_request = send(client, "/opstartshjaelp/", VALID_HELP)
    others = send(client, "/pjecer/", {**VALID_ORDER, **OLE})
    Worker(app).run_once()
    converted_lead = lead_of(salesforce, by_reference(db, help_request))
    assert converted_lead is not None
    contact_id = convert_over_http(salesforce, converted_lead["Id"])
    unsent = send(client, "/opstartshjaelp/", VALID_HELP, email=AASE.upper())  # not yet delivered
    mails_before = len(smtp.messages)

    result = cli(app, "person", "erase", AASE, "--yes")

    assert result.exit_code == 0, result.output
    assert f"Anonymised 3 submission(s): {order}, {help_request}, {unsent}." in result.output
    assert "Cancelled 3 delivery job(s) that had not gone out." in result.output
    assert "Queued 2 Salesforce job(s)" in result.output
    for reference in (order, help_request, unsent):
        personal_fields_are_gone(by_reference(db, reference))
    assert {job.status for job in jobs_of(db, unsent)} == {JobStatus.CANCELLED}
    assert by_reference(db, order).order_status is OrderStatus.CANCELLED  # it was waiting
    assert by_reference(db, others).email == OLE["email"]

    Worker(app).run_once()

    assert len(smtp.messages) == mails_before  # nothing went out for the unsent request
    assert lead_of(salesforce, by_reference(db, order)) is None  # deleted
    kept = salesforce.get_record("Lead", converted_lead["Id"])
    assert kept is not None and kept["IsConverted"] is True  # not touched
    assert kept["LastName"] == "Bøgh-Ørsted"
    assert lead_of(salesforce, by_reference(db, others)) is not None  # someone else's
    erasures = {
        job.submission.reference: job
        for job in db.scalars(
            select(DeliveryJob).where(DeliveryJob.kind == JobKind.SALESFORCE_ERASE)
        )
    }
    assert set(erasures) == {order, help_request}
    assert {job.status for job in erasures.values()} == {JobStatus.DONE}
    assert "er slettet i Salesforce" in erasures[order].outcome
    assert f"konverteret til kontakt {contact_id}" in erasures[help_request].outcome
    assert erasures[help_request].external_id == converted_lead["Id"]

    (deleted,) = audit_events(db, "salesforce_lead_deleted")
    (reported,) = audit_events(db, "salesforce_lead_kept")
    assert deleted.submission_id == by_reference(db, order).id
    assert converted_lead["Id"] in reported.detail
    (erased,) = audit_events(db, "person_erased")
    assert erased.actor == "cli"
    assert address_key(AASE, TEST_SECRET) in erased.detail
    for event in audit_events(db):  # the address itself is in no audit event
        assert "sønderå" not in event.detail.lower() and "aase" not in event.detail.lower()

    admin = app.test_client()
    assert sign_in(admin, staff_users["admin"]).status_code == 302
    page = admin.get("/admin/deliveries/").get_data(as_text=True)
    assert "Sletninger i Salesforce" in page
    assert f"konverteret til kontakt {contact_id} og er ikke slettet" in page


def test_erase_waits_for_salesforce_and_loses_nothing(app, client, db, salesforce):
    order = send(client, "/pjecer/", VALID_ORDER)
    Worker(app).run_once()
    assert cli(app, "person", "erase", AASE, "--yes").exit_code == 0
    salesforce.fail_next(1)  # Salesforce is down for the erasure's first request

    Worker(app).run_once()

    (job,) = [j for j in jobs_of(db, order) if j.kind is JobKind.SALESFORCE_ERASE]
    assert job.status is JobStatus.PENDING
    assert job.attempts == 1
    assert "SERVER_UNAVAILABLE" in job.last_error
    assert lead_of(salesforce, by_reference(db, order)) is not None  # still there, for now

    db.execute(update(DeliveryJob).where(DeliveryJob.id == job.id).values(next_attempt_at=utcnow()))
    db.commit()
    Worker(app).run_once()

    db.expire_all()
    assert job.status is JobStatus.DONE
    assert lead_of(salesforce, by_reference(db, order)) is None
    assert len(audit_events(db, "salesforce_lead_deleted")) == 1


def test_erase_waits_for_an_upsert_that_is_running(app, client, db, salesforce):
    order = send(client, "/pjecer/", VALID_ORDER)
    # A worker has just taken the Salesforce job and may still write the lead.
    (upsert,) = claim(db, [JobKind.SALESFORCE], worker_id="other-worker", lease_seconds=300)
    lease_ends = upsert.locked_until

    assert cli(app, "person", "erase", AASE, "--yes").exit_code == 0

    jobs = {job.kind: job for job in jobs_of(db, order)}
    assert jobs[JobKind.SALESFORCE].status is JobStatus.CANCELLED
    assert jobs[JobKind.SALESFORCE_ERASE].next_attempt_at == lease_ends


def test_erase_asks_first(app, client, db):
    order = send(client, "/pjecer/", VALID_ORDER)

    result = cli(app, "person", "erase", AASE, input="n\n")

    assert result.exit_code == 1
    assert f"{order} (pamphlet order, " in result.output
    assert "Anonymise them and delete their leads in Salesforce?" in result.output
    assert by_reference(db, order).email == AASE
    assert audit_events(db) == []


def test_erase_of_an_unknown_address_changes_nothing_and_exits_1(app, client, db):
    order = send(client, "/pjecer/", VALID_ORDER)

    result = cli(app, "person", "erase", "nobody@example.dk", "--yes")

    assert result.exit_code == 1
    assert "Nothing found for that address; nothing changed." in result.output
    assert by_reference(db, order).anonymised_at is None
    assert {job.status for job in jobs_of(db, order)} == {JobStatus.PENDING}
    (event,) = audit_events(db, "person_erased")
    assert "intet fundet" in event.detail
