"""Deliveries in the back office (/admin/deliveries/): dead jobs, retries, Salesforce links."""

from __future__ import annotations

from typing import Any

import pytest
from flask import url_for
from sqlalchemy import select, update

from intake.models import AuditEvent, DeliveryJob, JobStatus, JobTarget, Submission, utcnow
from tests.support.helpers import VALID_HELP, VALID_ORDER, hidden_fields, submit
from tests.support.staff import ADMIN_EMAIL

ERROR = 'SMTP 550 <script>alert("x")</script> & mailbox unavailable'


@pytest.fixture
def order(client: Any, db: Any) -> Submission:
    """A pamphlet order, its e-mail to the pamphlet office dead after 8 failed tries."""
    assert submit(client, "/pjecer/", VALID_ORDER).status_code == 303
    submission = db.scalars(select(Submission)).one()
    kill(db, submission, JobTarget.PAMPHLET_OFFICE, ERROR)
    return submission


def kill(db: Any, submission: Submission, target: JobTarget, error: str) -> None:
    db.execute(
        update(DeliveryJob)
        .where(DeliveryJob.submission_id == submission.id, DeliveryJob.target == target)
        .values(status=JobStatus.DEAD, attempts=8, last_error=error, finished_at=utcnow())
    )
    db.commit()


def job(db: Any, submission: Submission, target: JobTarget) -> DeliveryJob:
    db.expire_all()
    return db.scalars(
        select(DeliveryJob).where(
            DeliveryJob.submission_id == submission.id, DeliveryJob.target == target
        )
    ).one()


def csrf(client: Any) -> str:
    return hidden_fields(client.get("/admin/orders/").get_data(as_text=True))["csrf_token"]


def retry_events(db: Any) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent).where(AuditEvent.action.like("delivery_retry%")).order_by("id")
        )
    )


def test_the_page_lists_dead_and_waiting_jobs_with_their_errors(app, admin, order):
    response = admin.get("/admin/deliveries/")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Opgivne leverancer" in html and "Venter og i gang" in html
    assert "Pjecekontoret" in html and "Kredskonsulenten" in html
    assert '<td class="num">8</td>' in html  # the dead job's attempts
    assert html.count(order.reference) >= 4  # the dead job and the three waiting ones
    assert "SMTP 550 &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; mailbox" in html
    assert "<script>alert" not in html
    assert "Prøv alle 1 opgivne igen" in html
    assert "Opgivet: 1" in html and "Venter: 3" in html
    with app.test_request_context():
        if "intake_admin.order" in app.view_functions:
            assert url_for("intake_admin.order", reference=order.reference) in html
        else:
            assert f">{order.reference}</a>" not in html


def test_a_long_error_is_shown_in_full_behind_details(admin, order, db):
    long_error = "Salesforce svarede: " + "INVALID_FIELD " * 40 + "<b>slut</b>"
    kill(db, order, JobTarget.LEAD, long_error)
    html = admin.get("/admin/deliveries/").get_data(as_text=True)
    assert "<details>" in html
    assert "INVALID_FIELD " * 40 + "&lt;b&gt;slut&lt;/b&gt;" in html


def test_retrying_one_dead_job_requeues_it_and_records_it(admin, order, db):
    kill(db, order, JobTarget.CONSULTANT, "timeout")
    dead = job(db, order, JobTarget.PAMPHLET_OFFICE)

    response = admin.post(f"/admin/deliveries/{dead.id}/retry", data={"csrf_token": csrf(admin)})

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/deliveries/"
    retried = job(db, order, JobTarget.PAMPHLET_OFFICE)
    assert (retried.status, retried.attempts) == (JobStatus.PENDING, 0)
    assert retried.next_attempt_at <= utcnow()
    assert job(db, order, JobTarget.CONSULTANT).status is JobStatus.DEAD  # only the one
    [event] = retry_events(db)
    assert (event.actor, event.action, event.submission_id) == (
        ADMIN_EMAIL,
        "delivery_retry",
        order.id,
    )
    assert event.detail.startswith(
        f"Leverance {dead.id}: E-mail – Pjecekontoret ({order.reference})"
    )
    assert "8 forsøg" in event.detail and "SMTP 550" in event.detail
    page = admin.get("/admin/deliveries/").get_data(as_text=True)
    assert f"Leverance {dead.id} er sat i kø igen" in page

    again = admin.post(f"/admin/deliveries/{dead.id}/retry", data={"csrf_token": csrf(admin)})
    assert again.status_code == 302
    assert "er ikke opgivet (længere)" in admin.get("/admin/deliveries/").get_data(as_text=True)
    assert len(retry_events(db)) == 1


def test_retrying_all_dead_jobs(admin, order, db, client):
    assert submit(client, "/opstartshjaelp/", VALID_HELP).status_code == 303
    help_request = db.scalars(select(Submission).where(Submission.id != order.id)).one()
    kill(db, help_request, JobTarget.LEAD, "Salesforce: 503")

    response = admin.post("/admin/deliveries/retry-all", data={"csrf_token": csrf(admin)})

    assert response.status_code == 302
    for submission, target in ((order, JobTarget.PAMPHLET_OFFICE), (help_request, JobTarget.LEAD)):
        retried = job(db, submission, target)
        assert (retried.status, retried.attempts) == (JobStatus.PENDING, 0)
    events = retry_events(db)
    assert [(e.action, e.submission_id) for e in events] == [
        ("delivery_retry_all", order.id),
        ("delivery_retry_all", help_request.id),
    ]
    page = admin.get("/admin/deliveries/").get_data(as_text=True)
    assert "2 opgivne leverancer er sat i kø igen." in page
    assert "Ingen leverancer er opgivet." in page

    admin.post("/admin/deliveries/retry-all", data={"csrf_token": csrf(admin)})
    assert "Der var ingen opgivne leverancer" in admin.get("/admin/deliveries/").get_data(
        as_text=True
    )


def test_synced_submissions_link_to_salesforce(admin, client, db):
    for data in (VALID_ORDER, VALID_HELP, VALID_ORDER):
        path = "/pjecer/" if data is VALID_ORDER else "/opstartshjaelp/"
        assert submit(client, path, data).status_code == 303
    lead, contact, unsafe = db.scalars(select(Submission).order_by(Submission.id)).all()
    lead_url = "https://bl.my.salesforce.com/lightning/r/Lead/00Q000000000001AAA/view"
    contact_url = "https://bl.my.salesforce.com/lightning/r/Contact/003000000000001AAA/view"
    for submission, sobject, url in (
        (lead, "Lead", lead_url),
        (contact, "Contact", contact_url),
        (unsafe, "Lead", 'javascript:alert("x")'),
    ):
        submission.salesforce_object, submission.salesforce_url = sobject, url
    db.commit()

    html = admin.get("/admin/deliveries/").get_data(as_text=True)
    section = html[html.index("Synkroniseret til Salesforce") :]
    assert f'<a href="{lead_url}" rel="noopener noreferrer">Åbn i Salesforce' in section
    assert f'<a href="{contact_url}" rel="noopener noreferrer">Åbn i Salesforce' in section
    assert section.count("Åbn i Salesforce") == 2  # never a javascript: link
    assert 'href="javascript:' not in html
    assert "Eksisterende kontakt" in section
    assert section.count("<td>Lead</td>") == 2


def test_office_users_may_not_see_or_retry_deliveries(office, order, db):
    token = csrf(office)
    dead = job(db, order, JobTarget.PAMPHLET_OFFICE)
    assert office.get("/admin/deliveries/").status_code == 403
    assert "Ingen adgang" in office.get("/admin/deliveries/").get_data(as_text=True)
    assert (
        office.post(f"/admin/deliveries/{dead.id}/retry", data={"csrf_token": token}).status_code
        == 403
    )
    assert office.post("/admin/deliveries/retry-all", data={"csrf_token": token}).status_code == 403
    assert job(db, order, JobTarget.PAMPHLET_OFFICE).status is JobStatus.DEAD
    assert 'href="/admin/deliveries/"' not in office.get("/admin/orders/").get_data(as_text=True)


def test_anonymous_users_are_sent_to_sign_in(app, order, db):
    anonymous = app.test_client()
    dead = job(db, order, JobTarget.PAMPHLET_OFFICE)
    for response in (
        anonymous.get("/admin/deliveries/"),
        anonymous.post(f"/admin/deliveries/{dead.id}/retry"),
        anonymous.post("/admin/deliveries/retry-all"),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=")
    assert job(db, order, JobTarget.PAMPHLET_OFFICE).status is JobStatus.DEAD


def test_a_retry_without_csrf_is_refused(admin, order, db):
    dead = job(db, order, JobTarget.PAMPHLET_OFFICE)
    for path in (f"/admin/deliveries/{dead.id}/retry", "/admin/deliveries/retry-all"):
        response = admin.post(path)
        assert response.status_code == 400
        assert "sikkerhedsnøglen manglede" in response.get_data(as_text=True)
        assert admin.post(path, data={"csrf_token": "forkert"}).status_code == 400
    assert job(db, order, JobTarget.PAMPHLET_OFFICE).status is JobStatus.DEAD
    assert retry_events(db) == []


def test_admins_see_deliveries_in_the_menu(admin):
    assert 'href="/admin/deliveries/"' in admin.get("/admin/orders/").get_data(as_text=True)
