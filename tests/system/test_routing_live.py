"""Routing corrected while everything runs: the web over real HTTP, a worker process running
throughout (never restarted), the e-mails caught on loopback SMTP, the leads in the Salesforce
emulator over real HTTPS.

- A kreds changed in the back office sends the next request for that municipality to the new
  consultant: their e-mail, and a lead they own.
- A request sent on to another consultant: the new consultant's e-mail says it was sent on and
  by whom, the first consultant is told, the lead and its task get the new owner, and the
  audit log has it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from intake.models import AuditEvent, DeliveryJob, JobStatus, Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, form_fields, hidden_fields
from tests.support.settings import send_mail_to, use_salesforce
from tests.support.staff import ADMIN_EMAIL
from tests.support.visitor import Visitor
from tests.support.worker_process import start_worker, stop, wait_for

JBH_USER = "005000000000JBHAA2"  # Jens B. Hansen, kreds 3 (Ærø, 492, is in it)
SMA_USER = "005000000000SMAAA2"  # Søren Madsen, kredse 7, 8, 10
QUICK = {"INTAKE_WORKER_POLL_SECONDS": 0.1, "INTAKE_JOB_LEASE_SECONDS": 5}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def config(config, smtp, salesforce):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


@pytest.fixture
def it(app, live_server, staff_users) -> Visitor:
    """BL's IT, signed in as an admin over real HTTP."""
    visitor = Visitor(live_server)
    assert visitor.sign_in(ADMIN_EMAIL, app=app).status_code == 302
    return visitor


@pytest.fixture
def worker(config) -> Any:
    process = start_worker(config, **QUICK)
    yield process
    stop(process)


def post_form(visitor: Visitor, path: str, changes: dict[str, str], to: str = "") -> Any:
    """The form on the page at `path` as it stands, with `changes`, posted (to `to`)."""
    fields = {**form_fields(visitor.get(path).text), **changes}
    return visitor.post(to or path, fields)


def enter_salesforce_users(it: Visitor) -> None:
    """The consultants' Salesforce users, entered in the back office while the worker runs."""
    saved = post_form(
        it,
        "/admin/consultants/",
        {"jbh-salesforce_user_id": JBH_USER, "sma-salesforce_user_id": SMA_USER},
    )
    assert saved.status_code == 302, saved.text


def send(live_server: str, db: Any, path: str, data: dict[str, str]) -> str:
    """A person sends the public form; the reference their receipt shows."""
    person = Visitor(live_server, address="127.0.0.5")
    response = person.post(path, {**hidden_fields(person.get(path).text), **data})
    assert response.status_code == 303, response.text
    receipt = person.get(response.headers["Location"]).text
    db.expire_all()
    reference = db.scalars(select(Submission.reference).order_by(Submission.id.desc())).first()
    assert reference in receipt
    return str(reference)


def mail_to(smtp: Any, address: str) -> list[Any]:
    return [m for m in smtp.messages if address in m.rcpt_tos]


def lead_of(salesforce: Any, db: Any, reference: str) -> dict[str, Any]:
    db.expire_all()
    submission = db.scalars(select(Submission).where(Submission.reference == reference)).one()
    return salesforce.records["Lead"][submission.salesforce_id]


def delivered(db: Any, reference: str) -> bool:
    db.expire_all()
    submission = db.scalars(select(Submission).where(Submission.reference == reference)).one()
    return all(job.status is JobStatus.DONE for job in submission.jobs)


def test_a_kreds_changed_in_the_back_office_routes_the_next_request(
    it, worker, live_server, db, smtp, salesforce
):
    enter_salesforce_users(it)
    first = send(live_server, db, "/pjecer/", VALID_ORDER)  # Ærø: kreds 3, Jens B. Hansen
    wait_for(lambda: delivered(db, first), what=f"{first} to be delivered")
    assert len(mail_to(smtp, "jbh@bl.dk")) == 1
    assert lead_of(salesforce, db, first)["OwnerId"] == JBH_USER

    # BL learns that Ærø is in 7. kreds, and corrects it; the worker keeps running.
    moved = post_form(it, "/admin/routing/492", {"kreds": "7", "status": "confirmed"})
    assert moved.status_code == 302, moved.text
    second = send(live_server, db, "/pjecer/", VALID_ORDER)
    wait_for(lambda: delivered(db, second), what=f"{second} to be delivered")

    (to_sma,) = mail_to(smtp, "sma@bl.dk")
    assert to_sma.message["X-Intake-Reference"] == second
    assert "Hej Søren" in to_sma.body("plain")
    assert "7. kreds" in to_sma.body("plain") and "ikke bekræftet" not in to_sma.body("plain")
    assert len(mail_to(smtp, "jbh@bl.dk")) == 1  # nothing more for the first consultant
    assert lead_of(salesforce, db, second)["OwnerId"] == SMA_USER
    stored = db.scalars(select(Submission).where(Submission.reference == second)).one()
    assert (stored.kreds, stored.consultant_key) == (7, "sma")


def test_a_request_sent_on_reaches_the_new_consultant_and_its_lead_changes_owner(
    it, worker, live_server, db, smtp, salesforce
):
    enter_salesforce_users(it)
    reference = send(live_server, db, "/opstartshjaelp/", VALID_HELP)  # to Jens B. Hansen
    wait_for(lambda: delivered(db, reference), what=f"{reference} to be delivered")
    (first_mail,) = mail_to(smtp, "jbh@bl.dk")
    plain = first_mail.body("plain")
    assert "(ikke bekræftet: udledt)" in plain  # Ærø's kreds is inferred, not confirmed
    assert "Hører Ærø Kommune til en anden kreds? Skriv til Bjarne Werth på bwj@bl.dk" in plain
    lead = lead_of(salesforce, db, reference)
    (task,) = salesforce.records["Task"].values()
    assert lead["OwnerId"] == task["OwnerId"] == JBH_USER

    page = f"/admin/requests/{reference}"
    assert "Jens B. Hansen" in it.get(page).text
    sent_on = post_form(
        it, page, {"consultant": "sma", "note": "Ærø er i 7. kreds"}, to=f"{page}/forward"
    )
    assert sent_on.status_code == 302, sent_on.text
    assert f"{reference} er sendt videre til Søren Madsen" in it.get(page).text

    def all_done() -> bool:
        db.expire_all()
        jobs = db.scalars(select(DeliveryJob).where(DeliveryJob.forward_number == 1)).all()
        return len(jobs) == 3 and all(job.status is JobStatus.DONE for job in jobs)

    wait_for(all_done, what="the sending-on's e-mails and owner change")
    (to_sma,) = mail_to(smtp, "sma@bl.dk")
    assert to_sma.message["Subject"].startswith("Sendt videre til dig: Ønske om opstartshjælp")
    plain = to_sma.body("plain")
    assert f"{ADMIN_EMAIL} har sendt denne henvendelse videre til dig" in plain
    assert "fra Jens B. Hansen" in plain and "Besked: Ærø er i 7. kreds" in plain
    told = mail_to(smtp, "jbh@bl.dk")
    assert len(told) == 2
    note = told[1]
    assert note.message["Subject"].startswith(f"Sendt videre: {reference}")
    assert "videre til Søren Madsen (sma@bl.dk)" in note.body("plain")
    assert note.message["Reply-To"] == ADMIN_EMAIL

    lead = lead_of(salesforce, db, reference)
    (task,) = salesforce.records["Task"].values()
    assert lead["OwnerId"] == task["OwnerId"] == SMA_USER
    db.expire_all()
    stored = db.scalars(select(Submission).where(Submission.reference == reference)).one()
    assert stored.consultant_key == "sma"
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.submission_id == stored.id).order_by(AuditEvent.id)
    ).all()
    assert [(e.actor, e.action) for e in events] == [
        (ADMIN_EMAIL, "request_forwarded"),
        ("worker", "salesforce_owner_changed"),
    ]
    assert events[0].detail == (
        "Fra Jens B. Hansen (jbh@bl.dk) til Søren Madsen (sma@bl.dk). Besked: Ærø er i 7. kreds"
    )
    assert f"ejes nu af Søren Madsen ({SMA_USER})" in events[1].detail
