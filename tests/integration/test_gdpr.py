"""Personal data: `intake purge`, `intake person export` and `intake person erase`, on SQLite and
PostgreSQL, with real SMTP on loopback and the Salesforce emulator over real HTTPS."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from intake.backoffice.coverage import last_weeks, requests_per_kreds, requests_per_week
from intake.delivery.outbox import claim
from intake.delivery.worker import Worker
from intake.forwarding import forward
from intake.models import (
    AuditEvent,
    DeliveryJob,
    JobKind,
    JobStatus,
    JobTarget,
    OrderStatus,
    Submission,
    SubmissionKind,
    utcnow,
)
from intake.privacy.anonymise import CANCELLED_OUTCOME, address_key
from tests.support.helpers import VALID_HELP, VALID_ORDER, receipt_token_from, submit
from tests.support.settings import TEST_SECRET, send_mail_to, use_salesforce
from tests.support.staff import sign_in

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


def test_a_job_claimed_just_before_the_purge_is_cancelled_not_sent(build_app, db, smtp):
    app = build_app(INTAKE_RETENTION_DAYS=30)
    reference = send(app.test_client(), "/opstartshjaelp/", VALID_HELP)
    age(db, reference, 40)
    sessionmaker = app.extensions["intake"].database.sessionmaker
    purges: list[Any] = []
    armed = [True]

    def purge_after_the_claim(session: Any) -> None:
        """The worker has claimed an e-mail (committed); the purge commits before it sends."""
        if armed[0]:
            armed[0] = False  # once: the purge's own commits come here too
            purges.append(cli(app, "purge"))

    sa_event.listen(sessionmaker, "after_commit", purge_after_the_claim)
    try:
        mail = [c for c in app.extensions["intake"].channels if c.kind is JobKind.EMAIL]
        Worker(app, channels=mail).run_once()
    finally:
        sa_event.remove(sessionmaker, "after_commit", purge_after_the_claim)

    (purge,) = purges
    assert purge.exit_code == 0, purge.output
    # The receipt and the lead were waiting: cancelled. The claimed e-mail is the worker's.
    assert "Cancelled 2 delivery job(s) that had not gone out" in purge.output
    assert smtp.messages == []  # the worker saw the anonymised submission and did not send
    jobs = jobs_of(db, reference)
    assert {job.status for job in jobs} == {JobStatus.CANCELLED}
    assert {job.outcome for job in jobs} == {CANCELLED_OUTCOME}
    assert sorted(job.attempts for job in jobs if job.kind is JobKind.EMAIL) == [0, 1]


def test_an_order_shipped_while_the_purge_runs_stays_shipped(build_app, db, office):
    """SQLite locks nothing when the purge reads its batch, so the office may ship an order
    between the read and the purge's writes; PostgreSQL locks the rows, so the shipping waits
    for the purge and is refused. Either way the order is cancelled only if it was not sent."""
    app = build_app(INTAKE_RETENTION_DAYS=30)
    order = send(app.test_client(), "/pjecer/", VALID_ORDER)
    Worker(app).run_once()  # its e-mails and lead are out
    age(db, order, 40)
    page = office.get(f"/admin/orders/{order}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    note = "Pakkenummer 123 til Åse Bøgh-Ørsted"
    engine = app.extensions["intake"].database.engine
    armed = [True]
    answers: list[str] = []

    def ship() -> None:
        form = {"csrf_token": token, "note": note}
        answer = office.post(f"/admin/orders/{order}/ship", data=form, follow_redirects=True)
        answers.append(answer.get_data(as_text=True))

    shipping = threading.Thread(target=ship)
    on_postgresql = engine.dialect.name == "postgresql"

    def ship_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """The purge has read its batch; the office ships the order before it writes."""
        if armed[0] and "intake_submissions.created_at <" in statement:
            armed[0] = False
            if on_postgresql:
                shipping.start()  # it waits for the purge's lock on the order
            else:
                ship()

    sa_event.listen(engine, "after_cursor_execute", ship_meanwhile)
    try:
        result = cli(app, "purge")
    finally:
        sa_event.remove(engine, "after_cursor_execute", ship_meanwhile)
    if on_postgresql:
        shipping.join(60)
        assert not shipping.is_alive()

    assert result.exit_code == 0, result.output
    (answer,) = answers
    submission = by_reference(db, order)
    personal_fields_are_gone(submission)  # the shipping note, too
    shipped_notices = [job for job in submission.jobs if job.target is JobTarget.SHIPPED]
    if on_postgresql:  # the purge got there first; the office was told the order had changed
        assert submission.order_status is OrderStatus.CANCELLED
        assert "and 1 pamphlet order(s) still waiting" in result.output
        assert shipped_notices == []
        assert "markeret som afsendt" not in answer and "annulleret" in answer
    else:  # the office got there first: the order went out and stays shipped
        assert "er markeret som afsendt" in answer
        assert submission.order_status is OrderStatus.SHIPPED
        assert submission.cancelled_at is None
        assert "and 0 pamphlet order(s) still waiting" in result.output
        assert [job.status for job in shipped_notices] == [JobStatus.CANCELLED]
        (anonymised,) = audit_events(db, "anonymised")
        assert "Ordren var ikke sendt" not in anonymised.detail
    for entry in audit_events(db):
        assert "Åse" not in entry.detail


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


def test_the_purge_blanks_a_sending_on_s_note(app, client, db):
    """Staff write why they send a request on, often naming people: the note goes with the
    request's personal data."""
    from intake.models import Forward

    reference = send(client, "/opstartshjaelp/", VALID_HELP)
    with app.app_context():
        routing = app.extensions["intake"].routing
        submission = by_reference(db, reference)
        previous = routing.consultants[submission.consultant_key]
        to = next(c for key, c in routing.consultants.items() if key != previous.key)
        forward(db, submission, previous, to, "it@bl.dk", "Ring til Søren Bøgh på 12 34 56 78")
    age(db, reference, 800)
    assert cli(app, "purge").exit_code == 0
    db.expire_all()
    (sent_on,) = db.scalars(select(Forward)).all()
    assert (sent_on.note, sent_on.by) == ("", "it@bl.dk")  # who forwarded is staff, kept


def by_reference_of(db: Any) -> str:
    return db.scalars(select(Submission.reference)).one()


# -- export ----------------------------------------------------------------------------------


def test_export_has_everything_about_the_person_and_nothing_about_others(app, client, db, tmp_path):
    order = send(client, "/pjecer/", VALID_ORDER)
    help_request = send(client, "/opstartshjaelp/", VALID_HELP, email="AASE.Boegh@SØNDERÅ.dk")
    send(client, "/pjecer/", {**VALID_ORDER, **OLE, "note": "Ole's egen note"})
    Worker(app).run_once()
    sent_on = by_reference(db, help_request)
    with app.app_context():
        consultants = app.extensions["intake"].routing.consultants
        previous = consultants[sent_on.consultant_key]
        to = next(c for key, c in consultants.items() if key != previous.key)
        forward(db, sent_on, previous, to, "it@bl.dk", "Åse ringer efter kl. 14")
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
    assert (first["language"], first["crm_converted"]) == ("da", False)
    assert [(s["by"], s["to_consultant"], s["note"]) for s in second["sent_on"]] == [
        ("it@bl.dk", to.key, "Åse ringer efter kl. 14")
    ]
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


def test_a_staff_members_export_names_others_orders_only_by_reference(app, client, db, office):
    order = send(client, "/pjecer/", VALID_ORDER)
    page = office.get(f"/admin/orders/{order}")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    reason = "Åse Bøgh-Ørsted ringede og aflyste"
    office.post(f"/admin/orders/{order}/cancel", data={"csrf_token": token, "reason": reason})

    result = cli(app, "person", "export", "bwj@bl.dk")

    assert result.exit_code == 0, result.output
    actions = json.loads(result.output)["staff_account"]["actions"]
    assert {"action": "order_cancelled", "reference": order}.items() <= actions[-1].items()
    assert "Åse" not in result.output and AASE not in result.output


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
    assert "Queued 3 Salesforce job(s)" in result.output  # one per submission with a lead job
    for reference in (order, help_request, unsent):
        personal_fields_are_gone(by_reference(db, reference))
    assert {
        job.status for job in jobs_of(db, unsent) if job.kind is not JobKind.SALESFORCE_ERASE
    } == {JobStatus.CANCELLED}
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
    assert set(erasures) == {order, help_request, unsent}
    assert {job.status for job in erasures.values()} == {JobStatus.DONE}
    assert "er slettet i Salesforce" in erasures[order].outcome
    assert "Intet lead fundet" in erasures[unsent].outcome  # it was never sent
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
    assert jobs[JobKind.SALESFORCE].status is JobStatus.RUNNING  # left to its worker
    assert jobs[JobKind.SALESFORCE_ERASE].next_attempt_at == lease_ends


class Claimed:
    """A job a worker has claimed and checked (its submission still had its personal data):
    it is about to send it, with what it has read (one session, as in the worker)."""

    def __init__(self, app: Any, worker: Worker, kind: JobKind, lease_seconds: float = 300):
        self.app = app
        self.worker = worker
        self.session = app.extensions["intake"].database.sessionmaker()
        self.jobs = claim(
            self.session, [kind], worker_id=worker.worker_id, lease_seconds=lease_seconds
        )
        assert self.jobs
        self.channel = worker.channels[kind]
        assert worker._drop_anonymised(self.session, self.channel, self.jobs) == self.jobs
        self.ids = [job.id for job in self.jobs]

    def send(self) -> None:
        """The worker goes on: it sends the job and records the outcome."""
        with self.app.app_context(), self.session:
            self.worker._deliver(self.session, self.channel, self.jobs)
            self.worker._taken(self.jobs)


def time_passes(db: Any) -> None:
    """Every job waiting for a later try, or for a lease to end, is due now."""
    db.execute(
        update(DeliveryJob)
        .where(DeliveryJob.status == JobStatus.PENDING)
        .values(next_attempt_at=utcnow())
    )
    db.commit()


def test_erase_deletes_the_lead_of_an_upsert_that_timed_out_and_waits(build_app, db, salesforce):
    # Salesforce makes the lead but answers too late: the try times out, the job waits.
    app = build_app(SALESFORCE_TIMEOUT_SECONDS=0.5, SALESFORCE_MATCH_CONTACTS=0)
    order = send(app.test_client(), "/pjecer/", VALID_ORDER)
    salesforce.delay_next(2)
    Worker(app).run_once()
    (upsert,) = [job for job in jobs_of(db, order) if job.kind is JobKind.SALESFORCE]
    assert (upsert.status, upsert.attempts) == (JobStatus.PENDING, 1)
    assert lead_of(salesforce, by_reference(db, order)) is not None

    result = cli(app, "person", "erase", AASE, "--yes")

    assert result.exit_code == 0, result.output
    assert "Queued 1 Salesforce job(s)" in result.output
    Worker(app).run_once()
    assert lead_of(salesforce, by_reference(db, order)) is None
    jobs = {job.kind: job for job in jobs_of(db, order)}
    assert jobs[JobKind.SALESFORCE].status is JobStatus.CANCELLED  # not sent again
    assert jobs[JobKind.SALESFORCE_ERASE].status is JobStatus.DONE
    assert "er slettet i Salesforce" in jobs[JobKind.SALESFORCE_ERASE].outcome


def test_an_upsert_claimed_while_the_erase_runs_makes_its_lead_and_the_lead_is_deleted_after(
    app, client, db, salesforce
):
    order = send(client, "/pjecer/", VALID_ORDER)
    worker = Worker(app)
    engine = app.extensions["intake"].database.engine
    claimed: list[Claimed] = []
    armed = [True]

    def claim_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """The erase has found her submissions; before it writes, a worker claims the upsert
        and sees the submission as it still is."""
        if armed[0] and statement.lstrip().upper().startswith("UPDATE"):
            armed[0] = False  # once: the claim's own UPDATE comes here too
            claimed.append(Claimed(app, worker, JobKind.SALESFORCE))

    sa_event.listen(engine, "before_cursor_execute", claim_meanwhile)
    try:
        result = cli(app, "person", "erase", AASE, "--yes")
    finally:
        sa_event.remove(engine, "before_cursor_execute", claim_meanwhile)
    assert result.exit_code == 0, result.output
    assert "Cancelled 3 delivery job(s)" in result.output  # the e-mails; not the claimed upsert
    assert "Queued 1 Salesforce job(s)" in result.output
    jobs = {job.kind: job for job in jobs_of(db, order)}
    (upsert,) = claimed
    assert [jobs[JobKind.SALESFORCE].id] == upsert.ids
    assert jobs[JobKind.SALESFORCE].status is JobStatus.RUNNING  # left to its worker
    # The lead is deleted once the upsert's lease has ended, not while it may be written.
    assert jobs[JobKind.SALESFORCE_ERASE].next_attempt_at == jobs[JobKind.SALESFORCE].locked_until

    upsert.send()  # it had checked before the erase committed: it sends

    assert lead_of(salesforce, by_reference(db, order)) is not None
    jobs = {job.kind: job for job in jobs_of(db, order)}
    assert jobs[JobKind.SALESFORCE].status is JobStatus.DONE
    Worker(app).run_once()
    statuses = {job.kind: job.status for job in jobs_of(db, order)}
    assert statuses[JobKind.SALESFORCE_ERASE] is JobStatus.PENDING  # not due yet
    time_passes(db)  # the lease has ended
    Worker(app).run_once()
    assert lead_of(salesforce, by_reference(db, order)) is None
    assert len(audit_events(db, "salesforce_lead_deleted")) == 1


@pytest.mark.parametrize("command", ["erase", "purge"])
def test_an_upsert_being_sent_is_left_to_its_worker_and_cancelled_when_its_try_fails(
    command, app, client, db, salesforce
):
    order = send(client, "/pjecer/", VALID_ORDER)
    sending = Claimed(app, Worker(app), JobKind.SALESFORCE)

    if command == "purge":
        age(db, order, 800)
        result = cli(app, "purge")
    else:
        result = cli(app, "person", "erase", AASE, "--yes")

    assert result.exit_code == 0, result.output
    # The three e-mails waiting were cancelled; the upsert is being sent and was left alone.
    assert "Cancelled 3 delivery job(s) that had not gone out" in result.output
    (anonymised,) = audit_events(db, "anonymised")
    assert "3 leverancer, der ikke var gået ud, blev annulleret." in anonymised.detail
    assert {job.kind: job.status for job in jobs_of(db, order)}[JobKind.SALESFORCE] is (
        JobStatus.RUNNING
    )
    salesforce.fail_next(1)  # its try fails: Salesforce is down for a moment

    sending.send()
    time_passes(db)
    Worker(app).run_once()

    assert salesforce.records_json().get("Lead", []) == []  # it never made the lead
    (upsert,) = [job for job in jobs_of(db, order) if job.kind is JobKind.SALESFORCE]
    assert upsert.status is JobStatus.CANCELLED
    assert upsert.outcome == CANCELLED_OUTCOME
    assert upsert.last_error == ""


def test_an_e_mail_refused_after_the_erase_leaves_no_address_behind(app, client, db, smtp):
    help_request = send(client, "/opstartshjaelp/", VALID_HELP)
    worker = Worker(app)
    sending = [Claimed(app, worker, JobKind.EMAIL) for _ in range(2)]  # to the consultant, to her
    assert cli(app, "person", "erase", AASE, "--yes").exit_code == 0
    smtp.handler.rcpt_reply = "550 5.1.1 Recipient address rejected: User unknown"

    for claimed in sending:
        claimed.send()  # refused for good: "Modtager afvist: <address>: 550 …"

    jobs = [job for job in jobs_of(db, help_request) if job.kind is JobKind.EMAIL]
    assert {job.status for job in jobs} == {JobStatus.CANCELLED}
    assert {job.last_error for job in jobs} == {""}  # the address is not kept
    assert smtp.messages == []


def test_an_upsert_sent_after_its_lease_ran_out_and_the_erase_ran_is_deleted_again(
    app, client, db, salesforce, caplog
):
    order = send(client, "/pjecer/", VALID_ORDER)
    sending = Claimed(app, Worker(app, worker_id="slow-worker"), JobKind.SALESFORCE, 0)
    assert cli(app, "person", "erase", AASE, "--yes").exit_code == 0
    # Its lease has run out: another worker takes the upsert (and cancels it: the submission
    # is anonymised), then runs the erasure, which finds no lead yet.
    Worker(app).run_once()
    (erasure,) = [job for job in jobs_of(db, order) if job.kind is JobKind.SALESFORCE_ERASE]
    assert erasure.status is JobStatus.DONE
    assert "Intet lead fundet" in erasure.outcome

    with caplog.at_level(logging.INFO, logger="intake.delivery.worker"):
        sending.send()  # the slow worker's request makes the lead after all

    assert lead_of(salesforce, by_reference(db, order)) is not None
    assert "although its submission was anonymised meanwhile" in caplog.text
    assert "lease had passed to another worker" not in caplog.text
    Worker(app).run_once()  # the erasure is due again
    assert lead_of(salesforce, by_reference(db, order)) is None
    (erasure,) = [job for job in jobs_of(db, order) if job.kind is JobKind.SALESFORCE_ERASE]
    assert erasure.status is JobStatus.DONE
    assert "er slettet i Salesforce" in erasure.outcome


def test_an_erasure_whose_outcome_the_database_lost_is_done_again_and_reported(
    app, client, db, salesforce
):
    order = send(client, "/pjecer/", VALID_ORDER)
    help_request = send(client, "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    converted = lead_of(salesforce, by_reference(db, help_request))
    assert converted is not None
    contact_id = convert_over_http(salesforce, converted["Id"])
    assert cli(app, "person", "erase", AASE, "--yes").exit_code == 0
    worker = Worker(app)
    engine = app.extensions["intake"].database.engine

    def database_goes_away(
        conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> None:
        """Salesforce has done the work; recording the outcome fails."""
        if statement.startswith("UPDATE intake_delivery_jobs SET status") and (
            "external_id" in statement
        ):
            raise OperationalError(statement, parameters, Exception("server closed the connection"))

    sa_event.listen(engine, "before_cursor_execute", database_goes_away)
    try:
        with pytest.raises(OperationalError):
            worker.run_once()
    finally:
        sa_event.remove(engine, "before_cursor_execute", database_goes_away)
    assert lead_of(salesforce, by_reference(db, order)) is None  # deleted in Salesforce
    assert audit_events(db, "salesforce_lead_deleted") == []  # but nothing recorded

    worker.run_once()  # the database is back: the worker settles what it held

    erasures = list(
        db.scalars(select(DeliveryJob).where(DeliveryJob.kind == JobKind.SALESFORCE_ERASE))
    )
    assert {job.status for job in erasures} == {JobStatus.PENDING}  # to be run again
    worker.run_once()
    db.expire_all()
    assert {job.status for job in erasures} == {JobStatus.DONE}
    by_submission = {job.submission.reference: job for job in erasures}
    assert f"konverteret til kontakt {contact_id}" in by_submission[help_request].outcome
    (kept,) = audit_events(db, "salesforce_lead_kept")
    assert converted["Id"] in kept.detail
    assert "allerede slettet" in by_submission[order].outcome
    assert by_reference(db, order).salesforce_id is None
    assert lead_of(salesforce, by_reference(db, help_request)) is not None  # still not touched


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
