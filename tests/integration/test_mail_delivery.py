"""The e-mails, delivered by the worker over real SMTP (aiosmtpd on loopback)."""

from __future__ import annotations

import re
from email.utils import getaddresses

import pytest
from sqlalchemy import select, update

from intake.delivery.worker import Worker
from intake.models import DeliveryJob, JobKind, JobStatus, Pamphlet, Submission
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
    assert "Ærø Kommune (492), 3. kreds" in text
    assert re.search(r"Modtaget:  \d\d\.\d\d\.20\d\d kl\. \d\d\.\d\d\n", text)  # a table
    assert "Åse Bøgh-Ørsted, Forretningsfører" in text
    assert "Telefon: 33 76 20 40" in text
    assert '<a href="tel:+4533762040">33 76 20 40</a>' in consultant.body("html")
    assert f"Leadet oprettes i Salesforce med referencen {submission.reference}" in text

    receipt = smtp.to(REQUESTER)[0]
    assert addresses(receipt.message, "To") == [("Åse Bøgh-Ørsted", REQUESTER)]
    assert receipt.message["Subject"] == (
        f"Kvittering {submission.reference}: din bestilling af pjecer"
    )
    # "My pamphlets have not come" is for the pamphlet office: the reply goes there.
    assert addresses(receipt.message, "Reply-To") == [("Bjarne Werth", "bwj@bl.dk")]
    body = receipt.body("plain")
    assert body.startswith("Kære Åse\n")
    assert (
        "Hvad sker der nu?\nBL's pjeceekspedition pakker pjecerne og sender dem med posten. "
        "Det sker normalt inden for 5 arbejdsdage.\nDu får en e-mail, når pjecerne er sendt."
    ) in body
    assert (
        "Har du spørgsmål til bestillingen, så svar på denne e-mail. Dit svar går til BL's "
        "pjeceekspedition:\nBjarne Werth\nbwj@bl.dk\nTelefon 33 76 20 49\n"
    ) in body
    assert (
        "BL's kredskonsulent for Ærø Kommune får også besked om bestillingen og kan kontakte "
        "jer om et kommunesamarbejde:\nJens B. Hansen\njbh@bl.dk\nTelefon 87 33 10 62\n"
    ) in body
    html = receipt.body("html")
    assert '<a href="tel:+4533762049">33 76 20 49</a>' in html
    assert '<a href="tel:+4587331062">87 33 10 62</a>' in html
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


def test_the_start_up_receipt_names_the_organisation_the_time_frame_and_the_consultant(
    app, client, db, smtp
):
    submit(client, "/opstartshjaelp/", VALID_HELP)
    assert deliver_all(app) == 2
    reference = db.scalars(select(Submission.reference)).one()

    receipt = smtp.to(REQUESTER)[0]
    # A reply reaches the consultant who will call.
    assert addresses(receipt.message, "Reply-To") == [("Jens B. Hansen", "jbh@bl.dk")]
    body = receipt.body("plain")
    assert body.startswith(
        "Kære Åse\n\nTak for din anmodning om hjælp til at starte et kommunesamarbejde for "
        f"Boligselskabet Sønderå Ærø. Vi har modtaget den med referencenummeret {reference}.\n"
    )
    assert (
        "Hvad sker der nu?\nBL's kredskonsulent for Ærø Kommune kontakter dig inden for "
        "3 arbejdsdage:\nJens B. Hansen\njbh@bl.dk\nTelefon 87 33 10 62\n"
    ) in body
    assert "Dit svar går direkte til Jens B. Hansen." in body
    assert "<strong>Boligselskabet Sønderå Ærø</strong>" in receipt.body("html")
    consultant = smtp.to("jbh@bl.dk")[0].body("plain")
    assert "Kvitteringen lover, at du kontakter dem inden for 3 arbejdsdage." in consultant


@pytest.fixture
def promises(config):
    """Other promises than the defaults: one working day each (the singular)."""
    config.update(INTAKE_PAMPHLET_SHIPPING_DAYS=1, SALESFORCE_TASK_DUE_WORKING_DAYS=1)
    return config


def test_the_time_frames_come_from_the_settings(promises, app, client, smtp):
    submit(client, "/pjecer/", VALID_ORDER)
    submit(client, "/opstartshjaelp/", VALID_HELP)
    deliver_all(app)
    order, help_request = sorted(
        (m for m in smtp.to(REQUESTER)), key=lambda m: "pjecer" not in m.message["Subject"]
    )
    assert "Det sker normalt inden for 1 arbejdsdag." in order.body("plain")
    assert "kontakter dig inden for 1 arbejdsdag:" in help_request.body("plain")


@pytest.mark.parametrize(
    ("code", "official", "wrong"),
    [
        ("101", "Københavns Kommune", "København Kommune"),
        ("400", "Bornholms Regionskommune", "Bornholm Kommune"),
        ("820", "Vesthimmerlands Kommune", "Vesthimmerland Kommune"),
    ],
)
def test_municipalities_by_their_official_names_in_every_e_mail(
    app, client, smtp, code, official, wrong
):
    submit(client, "/pjecer/", VALID_ORDER, municipality=code)
    submit(client, "/opstartshjaelp/", VALID_HELP, municipality=code)
    assert deliver_all(app) == 5
    for received in smtp.messages:
        for text in (received.message["Subject"], received.body("plain"), received.body("html")):
            assert wrong not in text
    seen = [m for m in smtp.messages if official in m.body("plain")]
    assert len(seen) == 4  # the consultant's two and the two receipts (not the packing note)
    subjects = [m.message["Subject"] for m in smtp.messages if official in m.message["Subject"]]
    assert len(subjects) == 2  # the consultant's


def test_without_a_first_name_the_greeting_still_reads_well(app, client, smtp):
    submit(client, "/pjecer/", VALID_ORDER, first_name="")
    deliver_all(app)
    receipt = smtp.to(REQUESTER)[0]
    assert receipt.body("plain").startswith("Goddag\n\nTak for din bestilling af pjecer.")
    assert "<p>Goddag</p>" in receipt.body("html")
    assert "Kære Bøgh-Ørsted" not in receipt.body("plain")


def test_thousands_have_a_point_in_every_e_mail_and_on_the_receipt(app, client, db, smtp):
    db.execute(update(Pamphlet).values(max_per_order=20000))
    db.commit()
    location = submit(client, "/pjecer/", VALID_ORDER, **{"quantity-kommunesamarbejde": "10000"})
    deliver_all(app)
    office = smtp.to("bwj@bl.dk")[0]
    assert "10.000 stk. til" in office.message["Subject"]
    for received in smtp.messages:
        assert "10000" not in received.body("plain")
        assert "10.000" in received.body("plain") and "10.000" in received.body("html")
    page = client.get(location.headers["Location"]).get_data(as_text=True)
    assert "10.000 stk. Kommunesamarbejde" in page
    assert "Højst 20.000 stk." in client.get("/pjecer/").get_data(as_text=True)
