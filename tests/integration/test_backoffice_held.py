"""Posts held as likely spam, at /admin/held/: listed for staff (office and admin), released
(then stored, numbered, delivered and receipted like any submission) or deleted; counted
nowhere until then; deleted by `intake purge` after INTAKE_HELD_DAYS; part of a person's
export and erasure."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from intake.delivery.worker import Worker
from intake.models import AuditEvent, DeliveryJob, HeldPost, JobStatus, Submission, utcnow
from tests.support.helpers import VALID_HELP, VALID_ORDER, count, hidden_fields, submit
from tests.support.settings import send_mail_to

REQUESTER = "aase.boegh@xn--snder-qra2k.dk"  # sønderå.dk, as sent on the wire (IDNA)
TRAP = "Åse Bøgh-Ørsted"  # what a password manager may put in the hidden field


@pytest.fixture
def config(config, smtp):
    return send_mail_to(config, smtp)


def hold(client: Any, path: str = "/pjecer/", data: dict[str, Any] = VALID_ORDER, **more: Any):
    response = submit(client, path, data, website=TRAP, **more)
    assert "Vi ser din" in response.get_data(as_text=True)


def act(client: Any, public_id: str, action: str) -> str:
    """Press a held post's button (with the page's CSRF token); the page it lands on."""
    page = client.get("/admin/held/").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    answer = client.post(f"/admin/held/{public_id}/{action}", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/admin/held/"
    return client.get("/admin/held/").get_data(as_text=True)


def only_post(db) -> HeldPost:
    return db.scalars(select(HeldPost)).one()


@pytest.mark.parametrize("who", ["office", "admin"])
def test_staff_see_what_was_held_and_why(request, client, db, who):
    hold(client)
    staff = request.getfixturevalue(who)
    html = staff.get("/admin/held/").get_data(as_text=True)

    assert "<h1>Tilbageholdte henvendelser</h1>" in html
    assert "1 henvendelse venter." in html
    assert "Pjecebestilling fra Boligselskabet Sønderå Ærø" in html
    assert f"<code>{TRAP}</code>" in html  # what was in the hidden field
    for shown in ("aase.boegh@sønderå.dk", "33 76 20 40", "Ærø", "25 stk. Kommunesamarbejde"):
        assert shown in html, shown
    assert "Frigiv og send videre" in html and "Slet" in html
    assert re.search(r'href="/admin/held/"[^>]*>Tilbageholdte</a>', html)  # in the menu
    assert "slettes automatisk" in html and "30 dage" in html


def test_signed_out_visitors_are_sent_to_sign_in(client, db):
    hold(client)
    answer = client.get("/admin/held/")
    assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]


def test_held_posts_are_counted_nowhere(client, db, office, admin):
    hold(client)
    assert count(db) == 0 and count(db, DeliveryJob) == 0
    assert "Boligselskabet Sønderå Ærø" not in office.get("/admin/orders/").get_data(as_text=True)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert not re.search(r"^intake_submissions_total\{[^}]*\} [1-9]", metrics, re.MULTILINE)
    assert client.get("/healthz").get_json()["backlog"] == 0


def test_a_released_post_is_numbered_delivered_and_receipted(app, client, db, smtp, office):
    hold(client)
    post = only_post(db)
    received_at = post.received_at

    html = act(office, post.public_id, "release")
    submission = db.scalars(select(Submission)).one()
    assert re.fullmatch(r"PJ-20\d\d-00001", submission.reference)
    assert (
        f"Henvendelsen er frigivet som {submission.reference}. Den sendes videre, og "
        "afsenderen får en kvittering på e-mail."
    ) in html
    assert "Der er ingen tilbageholdte henvendelser." in html
    assert count(db, HeldPost) == 0
    # The request as it was posted, received when it was posted, routed as any other.
    assert submission.created_at == received_at
    assert submission.organisation == "Boligselskabet Sønderå Ærø"
    assert (submission.municipality_name, submission.kreds) == ("Ærø", 3)
    assert [(line.title, line.quantity) for line in submission.lines] == [
        ("Kommunesamarbejde – Hvorfor og hvordan?", 25)
    ]
    assert len(submission.jobs) == 4
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "held_released")).one()
    assert (event.actor, event.submission_id) == ("bwj@bl.dk", submission.id)

    assert Worker(app).run_once() == 3  # the office, the consultant, the receipt
    (receipt,) = smtp.to(REQUESTER)
    assert (
        receipt.message["Subject"] == f"Kvittering {submission.reference}: din bestilling af pjecer"
    )
    assert f"Vi har modtaget den med referencenummeret {submission.reference}." in receipt.body(
        "plain"
    )
    assert smtp.to("bwj@bl.dk") and smtp.to("jbh@bl.dk")
    # Its receipt page works, and the same form pressed again now ends there.
    link = re.search(r"https://intake\.bl\.dk(/kvittering/\S+)", receipt.body("plain"))
    assert client.get(link.group(1)).status_code == 200


def test_a_released_start_up_request_gets_its_receipt(app, client, db, smtp, admin):
    hold(client, "/opstartshjaelp/", VALID_HELP)
    act(admin, only_post(db).public_id, "release")
    submission = db.scalars(select(Submission)).one()
    assert submission.reference.startswith("OH-")
    assert submission.topics == ["forsyning_takster", "styringsdialog"]
    assert submission.message == VALID_HELP["message"]
    assert Worker(app).run_once() == 2
    assert smtp.to(REQUESTER)[0].message["Subject"].startswith(f"Kvittering {submission.reference}")


def test_releasing_twice_stores_one_submission(client, db, office, admin):
    hold(client)
    public_id = only_post(db).public_id
    token = hidden_fields(office.get("/admin/held/").get_data(as_text=True))["csrf_token"]
    act(admin, public_id, "release")
    late = office.post(f"/admin/held/{public_id}/release", data={"csrf_token": token})
    assert late.status_code == 303
    assert "allerede frigivet eller slettet" in office.get("/admin/held/").get_data(as_text=True)
    assert count(db) == 1
    assert count(db, DeliveryJob) == 4


def test_a_deleted_post_is_gone_and_nothing_is_sent(app, client, db, smtp, office):
    hold(client)
    html = act(office, only_post(db).public_id, "delete")
    assert "Henvendelsen er slettet." in html
    assert count(db, HeldPost) == 0 and count(db) == 0
    assert Worker(app).run_once() == 0 and smtp.messages == []
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "held_deleted")).one()
    assert event.actor == "bwj@bl.dk"
    assert event.detail.startswith("Tilbageholdt pjecebestilling modtaget ")
    assert "Sønderå" not in event.detail and "aase" not in event.detail  # no personal data


def test_a_release_without_a_csrf_token_is_refused(client, db, office):
    hold(client)
    answer = office.post(f"/admin/held/{only_post(db).public_id}/release")
    assert answer.status_code == 400
    assert count(db, HeldPost) == 1 and count(db) == 0


def age(db, days: float) -> None:
    db.execute(update(HeldPost).values(received_at=utcnow() - timedelta(days=days)))
    db.commit()


def test_purge_deletes_posts_held_longer_than_the_held_days(app, client, db):
    hold(client)
    hold(client, "/opstartshjaelp/", VALID_HELP)
    first = db.scalars(select(HeldPost).order_by(HeldPost.id)).first()
    db.execute(
        update(HeldPost)
        .where(HeldPost.id == first.id)
        .values(received_at=utcnow() - timedelta(days=31))
    )
    db.commit()

    dry = app.test_cli_runner().invoke(args=["intake", "purge", "--dry-run"])
    assert (
        "Dry run: would delete 1 post(s) held as likely spam for more than 30 days." in dry.output
    )
    assert count(db, HeldPost) == 2
    result = app.test_cli_runner().invoke(args=["intake", "purge"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 post(s) held as likely spam for more than 30 days." in result.output
    db.expire_all()
    (kept,) = db.scalars(select(HeldPost)).all()
    assert kept.kind.value == "startup_help"
    again = app.test_cli_runner().invoke(args=["intake", "purge"])
    assert "No post has been held as likely spam for more than 30 days." in again.output


def test_a_persons_export_has_their_held_posts_and_erase_deletes_them(app, client, db):
    hold(client)
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["intake", "person", "export", "Aase.Boegh@sønderå.dk"])
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.output)
    (held,) = data["held_posts"]
    assert held["kind"] == "pamphlet_order"
    assert held["hidden_field"] == TRAP
    assert held["fields"]["last_name"] == "Bøgh-Ørsted"
    assert data["submissions"] == []

    erased = runner.invoke(args=["intake", "person", "erase", "aase.boegh@sønderå.dk", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "Deleted 1 post(s) held as likely spam." in erased.output
    assert count(db, HeldPost) == 0


def test_released_submissions_are_delivered_like_any(app, client, db, office):
    """Nothing about a released post is special for the worker: its jobs are plain pending."""
    hold(client)
    act(office, only_post(db).public_id, "release")
    jobs = db.scalars(select(DeliveryJob)).all()
    assert {job.status for job in jobs} == {JobStatus.PENDING}
