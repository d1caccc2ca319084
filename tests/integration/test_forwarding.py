"""Sending a request on, the cases around the happy path (tests/system/test_routing_live.py
has that over real HTTP with a worker process): the lead's new owner waits for the lead, a
converted lead and a consultant without a Salesforce user are left alone and said so, a
request can be sent on twice, and only to another consultant; the office may do it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from intake.delivery.worker import Worker
from intake.models import AuditEvent, DeliveryJob, JobKind, JobStatus, JobTarget, Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, form_fields, submit
from tests.support.settings import send_mail_to, use_salesforce

SMA_USER = "005000000000SMAAA2"


@pytest.fixture
def config(config, smtp, salesforce):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


def give_sma_a_salesforce_user(admin: Any) -> None:
    fields = {
        **form_fields(admin.get("/admin/consultants/").get_data(as_text=True)),
        "sma-salesforce_user_id": SMA_USER,
    }
    assert admin.post("/admin/consultants/", data=fields).status_code == 302


def send_on(staff: Any, reference: str, consultant: str, note: str = "") -> Any:
    page = f"/admin/requests/{reference}"
    fields = {**form_fields(staff.get(page).get_data(as_text=True)), "consultant": consultant}
    return staff.post(f"{page}/forward", data={**fields, "note": note})


def owner_jobs(db: Any) -> list[DeliveryJob]:
    db.expire_all()
    return list(
        db.scalars(
            select(DeliveryJob)
            .where(DeliveryJob.kind == JobKind.SALESFORCE_OWNER)
            .order_by(DeliveryJob.id)
        )
    )


def the_request(db: Any) -> Submission:
    db.expire_all()
    return db.scalars(select(Submission)).one()


def test_sent_on_before_the_lead_is_made(app, client, admin, db, salesforce, smtp):
    give_sma_a_salesforce_user(admin)
    submit(client, "/opstartshjaelp/", VALID_HELP)
    reference = the_request(db).reference
    assert send_on(admin, reference, "sma").status_code == 302  # before any delivery
    Worker(app).run_once()
    # The lead was made after the sending-on: with the new owner at once.
    (lead,) = salesforce.records["Lead"].values()
    assert lead["OwnerId"] == SMA_USER
    (job,) = owner_jobs(db)
    assert job.status is JobStatus.DONE
    assert f"ejes nu af Søren Madsen ({SMA_USER})" in job.outcome
    to = sorted(a for m in smtp.messages for a in m.rcpt_tos if a.endswith("@bl.dk"))
    # Both consultants' e-mails of the request (the first one's own, and the one sent on),
    # and the note to the first.
    assert to == ["jbh@bl.dk", "jbh@bl.dk", "sma@bl.dk"]
    (to_sma,) = smtp.to("sma@bl.dk")
    assert "Den er din nu, også som ejer af leadet i Salesforce." in to_sma.body("plain")


def test_a_converted_lead_is_left_alone_and_the_job_says_so(app, client, admin, db, salesforce):
    give_sma_a_salesforce_user(admin)
    submit(client, "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    (lead,) = salesforce.records["Lead"].values()
    salesforce.convert_lead(lead["Id"])
    assert send_on(admin, the_request(db).reference, "sma").status_code == 302
    Worker(app).run_once()
    (job,) = owner_jobs(db)
    assert job.status is JobStatus.DONE
    assert f"Lead {lead['Id']} er konverteret og er ikke ændret" in job.outcome
    assert salesforce.records["Lead"][lead["Id"]]["OwnerId"] != SMA_USER


def test_a_consultant_without_a_salesforce_user_is_said_so(
    app, client, admin, db, salesforce, smtp
):
    submit(client, "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    reference = the_request(db).reference
    sent = send_on(admin, reference, "sma")
    assert sent.status_code == 302
    before = salesforce.api_request_count()
    Worker(app).run_once()
    (job,) = owner_jobs(db)
    assert job.status is JobStatus.DONE
    assert job.outcome.startswith("Søren Madsen har intet Salesforce-bruger-id i routingen")
    assert salesforce.api_request_count() == before  # nothing asked of Salesforce
    # Nobody is told the lead changed owner: the page, the new consultant, the first one.
    page = admin.get(sent.headers["Location"]).get_data(as_text=True)
    assert "leadet i Salesforce skifter ikke ejer: Søren Madsen har intet" in page
    (to_sma,) = smtp.to("sma@bl.dk")
    assert "Leadet i Salesforce skifter ikke ejer" in to_sma.body("plain")
    assert "også som ejer af leadet" not in to_sma.body("plain")
    note_to_jbh = [m for m in smtp.to("jbh@bl.dk") if "Sendt videre:" in m.message["Subject"]]
    assert "Leadet i Salesforce skifter ikke ejer" in note_to_jbh[0].body("plain")
    assert "ejer leadet i Salesforce" not in note_to_jbh[0].body("plain")


def test_sent_on_twice_by_the_office_and_only_to_another_consultant(app, client, office, db, smtp):
    submit(client, "/opstartshjaelp/", VALID_HELP)
    reference = the_request(db).reference
    same = send_on(office, reference, "jbh")
    assert same.status_code == 200
    assert "Henvendelsen er allerede hos Jens B. Hansen. Vælg en anden." in same.get_data(
        as_text=True
    )
    nobody = send_on(office, reference, "")
    assert "Vælg den konsulent, henvendelsen skal sendes videre til." in nobody.get_data(
        as_text=True
    )
    assert the_request(db).consultant_key == "jbh"

    assert send_on(office, reference, "sma", "Ærø er i 7. kreds").status_code == 302
    assert send_on(office, reference, "lfi").status_code == 302
    request = the_request(db)
    assert request.consultant_key == "lfi"
    assert [(f.number, f.from_consultant_key, f.to_consultant_key) for f in request.forwards] == [
        (1, "jbh", "sma"),
        (2, "sma", "lfi"),
    ]
    events = db.scalars(
        select(AuditEvent.actor).where(AuditEvent.action == "request_forwarded")
    ).all()
    assert events == ["bwj@bl.dk", "bwj@bl.dk"]

    Worker(app).run_once()
    delivered = {
        (m.message["X-Intake-Reference"], m.rcpt_tos[0], m.message["Subject"].split(":")[0])
        for m in smtp.messages
    }
    assert (reference, "jbh@bl.dk", "Ønske om opstartshjælp " + reference) in delivered
    assert (reference, "sma@bl.dk", "Sendt videre til dig") in delivered
    assert (reference, "jbh@bl.dk", "Sendt videre") in delivered
    assert (reference, "lfi@bl.dk", "Sendt videre til dig") in delivered
    assert (reference, "sma@bl.dk", "Sendt videre") in delivered
    targets = db.scalars(select(DeliveryJob.target).where(DeliveryJob.forward_number == 2)).all()
    assert sorted(targets) == sorted(
        [JobTarget.LEAD, JobTarget.CONSULTANT, JobTarget.PREVIOUS_CONSULTANT]
    )


def test_the_order_page_links_to_the_request_page(office, client, db):
    submit(client, "/pjecer/", VALID_ORDER)
    reference = the_request(db).reference
    html = office.get(f"/admin/orders/{reference}").get_data(as_text=True)
    assert f'href="/admin/requests/{reference}"' in html
    page = office.get(f"/admin/requests/{reference}").get_data(as_text=True)
    assert "Jens B. Hansen" in page and "kreds ikke bekræftet: udledt" in page
    assert office.get("/admin/requests/PJ-1900-00001").status_code == 404
