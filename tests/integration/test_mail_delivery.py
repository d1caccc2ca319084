"""The e-mails, delivered by the worker over real SMTP (aiosmtpd on loopback)."""

from __future__ import annotations

import re
from email.utils import getaddresses

import pytest
from sqlalchemy import select, update

from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus, Submission
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.settings import send_mail_to

REQUESTER = "aase.boegh@xn--snder-qra2k.dk"  # sønderå.dk, as sent on the wire (IDNA)


@pytest.fixture
def config(config, smtp):
    return send_mail_to(config, smtp)


def deliver_all(app) -> int:
    return Worker(app).run_once()


def addresses(message, header: str) -> list[tuple[str, str]]:
    return getaddresses([str(h) for h in message.get_all(header, [])])


def test_a_pamphlet_order_mails_the_office_the_consultant_and_the_orderer(app, client, db, smtp):
    submit(client, "/pjecer/", VALID_ORDER)
    assert deliver_all(app) == 3

    submission = db.scalars(select(Submission)).one()
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(
        ["bwj@bl.dk", "jbh@bl.dk", REQUESTER]
    )
    assert all(len(m.rcpt_tos) == 1 for m in smtp.messages)

    office = smtp.to("bwj@bl.dk")[0]
    assert addresses(office.message, "To") == [("Bjarne Werth", "bwj@bl.dk")]
    assert office.message["Subject"] == (
        f"Pjecebestilling {submission.reference}: 25 stk. til Boligselskabet Sønderå Ærø"
    )
    packing_note = office.body("plain")
    assert f"PAKKESEDDEL {submission.reference}" in packing_note
    assert "25 stk.  Kommunesamarbejde – Hvorfor og hvordan?" in packing_note
    assert (
        "Boligselskabet Sønderå Ærø\nAtt.: Bjørn Æbelø\nSøndergade 7, 1. sal\n5970 Ærøskøbing"
        in packing_note
    )
    assert "Levér gerne før jul – tak!" in packing_note
    assert "Bjørn Æbelø" in office.body("html")
    assert addresses(office.message, "Reply-To") == [("Åse Bøgh-Ørsted", REQUESTER)]

    consultant = smtp.to("jbh@bl.dk")[0]
    assert addresses(consultant.message, "To") == [("Jens B. Hansen", "jbh@bl.dk")]
    assert addresses(consultant.message, "Reply-To") == [("Åse Bøgh-Ørsted", REQUESTER)]
    text = consultant.body("plain")
    assert "Boligselskabet Sønderå Ærø i Ærø Kommune har bestilt pjecer" in text
    assert "Ærø (492), 3. kreds" in text
    assert re.search(r"Modtaget:  \d\d\.\d\d\.20\d\d kl\. \d\d\.\d\d\n", text)
    assert "Åse Bøgh-Ørsted, Forretningsfører" in text
    assert "Telefon: 33762040" in text
    assert f"Leadet oprettes i Salesforce med referencen {submission.reference}" in text

    receipt = smtp.to(REQUESTER)[0]
    assert addresses(receipt.message, "To") == [("Åse Bøgh-Ørsted", REQUESTER)]
    assert receipt.message["Subject"] == (
        f"Kvittering {submission.reference}: din bestilling af pjecer"
    )
    assert addresses(receipt.message, "Reply-To") == [("Jens B. Hansen", "jbh@bl.dk")]
    body = receipt.body("plain")
    assert body.startswith("Kære Åse\n")
    assert "Jens B. Hansen\njbh@bl.dk\nTelefon 87331062" in body
    assert re.search(r"https://intake\.bl\.dk/kvittering/\S+", body)
    link = re.search(r'href="(https://intake\.bl\.dk/kvittering/[^"]+)"', receipt.body("html"))
    assert (
        link and client.get(link.group(1).removeprefix("https://intake.bl.dk")).status_code == 200
    )


def test_headers_are_rfc2047_encoded_and_bodies_utf8(app, client, smtp):
    submit(client, "/pjecer/", VALID_ORDER)
    deliver_all(app)
    for received in smtp.messages:
        assert received.raw_headers.isascii()
        assert b"=?utf-8?" in received.raw_headers
        for part in received.message.walk():
            if part.get_content_maintype() == "text":
                assert part.get_content_charset() == "utf-8"
    assert smtp.messages[0].message["From"] == "BL – Danmarks Almene Boliger <noreply@bl.dk>"


@pytest.mark.parametrize(
    ("municipality", "consultant"),
    [("657", "sma@bl.dk"), ("101", "taj@bl.dk"), ("751", "ns@bl.dk"), ("147", "jf@bl.dk")],
)
def test_a_start_up_request_reaches_its_kreds_consultant_and_no_one_else(
    app, client, db, smtp, municipality, consultant
):
    submit(client, "/opstartshjaelp/", VALID_HELP, municipality=municipality)
    assert deliver_all(app) == 2
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted([consultant, REQUESTER])
    text = smtp.to(consultant)[0].body("plain")
    assert "vil gerne have hjælp til at starte et kommunesamarbejde" in text
    assert "- Forsyning og takster\n  - Styringsdialog" in text
    assert "Kommunesamarbejde i dag: Nej, ikke endnu" in text
    assert "Ærøskøbing Boligforening" in text
    assert "hvor starter vi?" in text


def test_every_delivered_job_keeps_its_message_id_and_salesforce_waits(app, client, db, smtp):
    submit(client, "/pjecer/", VALID_ORDER)
    deliver_all(app)
    jobs = db.scalars(select(DeliveryJob).order_by(DeliveryJob.id)).all()
    mail_jobs = [job for job in jobs if job.kind is JobKind.EMAIL]
    assert {job.status for job in mail_jobs} == {JobStatus.DONE}
    assert sorted(job.external_id for job in mail_jobs) == sorted(
        m.message["Message-ID"] for m in smtp.messages
    )
    assert all(
        re.fullmatch(rf"<intake\.{job.id}\.[0-9a-f]{{12}}@bl\.dk>", job.external_id)
        for job in mail_jobs
    )
    (crm,) = [job for job in jobs if job.kind is JobKind.SALESFORCE]
    assert crm.status is JobStatus.PENDING and crm.attempts == 0


def test_user_input_is_escaped_in_html_and_cannot_add_headers(app, client, db, smtp):
    submit(
        client,
        "/opstartshjaelp/",
        VALID_HELP,
        organisation="<b>Søbo</b> & Co",
        message="<script>alert('x')</script>",
    )
    # Values that never passed the form (an old row, a bug elsewhere) get no further.
    db.execute(update(Submission).values(first_name="Åse\r\nBcc: victim@example.com"))
    db.commit()
    deliver_all(app)

    assert len(smtp.messages) == 2
    for received in smtp.messages:
        assert not received.message.get_all("Bcc")
        assert b"\r\nBcc:" not in received.raw_headers
        assert "victim@example.com" not in received.rcpt_tos
        html = received.body("html")
        assert "<b>Søbo</b>" not in html and "<script>" not in html
    consultant = smtp.to("jbh@bl.dk")[0]
    assert "&lt;b&gt;Søbo&lt;/b&gt; &amp; Co" in consultant.body("html")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in consultant.body("html")
    assert "<b>Søbo</b> & Co" in consultant.body("plain")
    assert consultant.message["Subject"].endswith("<b>Søbo</b> & Co, Ærø Kommune")
