"""The back office's orders: list, search, order page, life cycle, e-mail, stock, CSV, slips.

Orders come in through the real public form; staff act through the real pages and forms
(with their CSRF tokens); the "on their way" e-mail is caught by a real SMTP server.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake import order_lifecycle as orders
from intake.delivery.worker import Worker
from intake.formats import MONTHS
from intake.models import (
    AuditEvent,
    DeliveryJob,
    JobTarget,
    OrderStatus,
    Pamphlet,
    Submission,
)
from intake.timefmt import DANISH_TIME
from tests.support.helpers import VALID_HELP, VALID_ORDER, hidden_fields, receipt_token_from, submit
from tests.support.settings import send_mail_to
from tests.support.staff import OFFICE_EMAIL, sign_in

REQUESTER = "aase.boegh@xn--snder-qra2k.dk"  # sønderå.dk on the wire (IDNA)
XSS = '<script>alert("x")</script>'


@pytest.fixture
def config(config, smtp):
    return send_mail_to(config, smtp)


# -- Helpers -------------------------------------------------------------------------------


def place(client: Any, **overrides: Any) -> str:
    """Order through the public form; returns the receipt's path."""
    response = submit(client, "/pjecer/", VALID_ORDER, **overrides)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def references(db: Session) -> list[str]:
    """Every order's reference, oldest first."""
    return list(db.scalars(select(Submission.reference).order_by(Submission.id)))


def load(db: Session, reference: str) -> Submission:
    db.expire_all()
    return db.scalars(select(Submission).where(Submission.reference == reference)).one()


def act(client: Any, reference: str, action: str, **data: str) -> Any:
    """Post one of the order page's forms with the page's CSRF token; follow to the page."""
    page = client.get(f"/admin/orders/{reference}")
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    response = client.post(
        f"/admin/orders/{reference}/{action}", data={"csrf_token": token, **data}
    )
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"] == f"/admin/orders/{reference}"
    return client.get(response.headers["Location"]).get_data(as_text=True)


def snapshot(db: Session, reference: str) -> tuple[Any, ...]:
    """Everything an action may change, to check that a refused one changed nothing."""
    order = load(db, reference)
    return (
        order.order_status,
        order.packed_at,
        order.shipped_at,
        order.cancelled_at,
        order.status_note,
        db.scalar(select(func.count()).select_from(AuditEvent)),
        db.scalar(select(func.count()).select_from(DeliveryJob)),
        db.scalar(select(Pamphlet.stock).where(Pamphlet.slug == "kommunesamarbejde")),
    )


def set_stock(db: Session, stock: int | None) -> None:
    db.execute(update(Pamphlet).where(Pamphlet.slug == "kommunesamarbejde").values(stock=stock))
    db.commit()


def stock(db: Session) -> int | None:
    db.expire_all()
    return db.scalar(select(Pamphlet.stock).where(Pamphlet.slug == "kommunesamarbejde"))


def rows_of(html: str) -> list[str]:
    """The references in the order list's table, top to bottom."""
    return re.findall(r'<a href="/admin/orders/(PJ-[0-9-]+)">', html)


def shipped_emails(smtp: Any) -> list[Any]:
    return [m for m in smtp.messages if m.message["Subject"].startswith("Dine pjecer er på vej")]


# -- The list ------------------------------------------------------------------------------


def test_the_list_shows_waiting_orders_first_newest_first(office, db):
    for _ in range(4):
        place(office)
    first, second, third, fourth = references(db)
    act(office, first, "ship")
    act(office, third, "pack")
    act(office, fourth, "cancel", reason="Dobbeltbestilling")

    # The list opens on what waits: the new and the packed orders.
    assert rows_of(office.get("/admin/orders/").get_data(as_text=True)) == [third, second]
    html = office.get("/admin/orders/?status=all").get_data(as_text=True)
    assert rows_of(html) == [third, second, fourth, first]
    assert "Boligselskabet Sønderå Ærø" in html
    assert "5970 Ærøskøbing" in html
    assert "Nye (1)" in html and "Pakkede (1)" in html and "Venter (nye og pakkede) (2)" in html
    assert "Afsendte (1)" in html and "Annullerede (1)" in html and "Alle (4)" in html


def test_the_status_filter(office, db):
    for _ in range(3):
        place(office)
    first, second, third = references(db)
    act(office, first, "ship")
    act(office, second, "pack")

    def shown(status: str) -> list[str]:
        return rows_of(office.get(f"/admin/orders/?status={status}").get_data(as_text=True))

    assert shown("new") == [third]
    assert shown("packed") == [second]
    assert shown("shipped") == [first]
    assert shown("cancelled") == []
    assert shown("waiting") == [third, second]
    assert shown("") == shown("nonsense") == [third, second]  # what waits
    assert shown("all") == [third, second, first]
    assert "Ingen ordrer" in office.get("/admin/orders/?status=cancelled").get_data(as_text=True)


def test_search_by_reference_organisation_person_email_postcode_and_town(office, db):
    place(office)
    place(office, organisation="Lejerbo Østerbro", postcode="2100", municipality="101")
    place(
        office,
        organisation="AAB 100% _test_",
        postcode="8000",  # Aarhus C
        municipality="751",
        first_name="Karen",
        last_name="Ølgaard",
        email="karen.oelgaard@aab.dk",
        attention="",
    )
    aeroe, oesterbro, aab = references(db)
    act(office, aeroe, "ship")  # a search finds shipped orders too

    def found(q: str) -> list[str]:
        response = office.get("/admin/orders/", query_string={"q": q})
        assert response.status_code == 200
        return rows_of(response.get_data(as_text=True))

    assert found(aeroe) == [aeroe]
    assert found(aeroe.lower()) == [aeroe]
    assert found(oesterbro.rsplit("-", 1)[1]) == [oesterbro]  # the number alone
    assert found("sønderå ærø") == [aeroe]
    assert found("SØNDERÅ ÆRØ") == [aeroe]  # Danish capitals fold on SQLite too
    assert found("østerbro") == [oesterbro]
    assert found("2100") == [oesterbro]
    assert found("59") == [aeroe]  # a postcode's start
    assert found("100%") == [aab]  # LIKE's wildcards are plain characters
    assert found("_") == [aab]
    assert found("lejerbo 5970") == []  # every word must match
    assert found("Aarhus") == [aab]  # the town (Aarhus C)
    assert found("ærøskøbing") == [aeroe]
    assert found("ølgaard") == [aab]  # the person
    assert found("Åse Bøgh-Ørsted") == [oesterbro, aeroe]
    assert found("Bjørn") == [oesterbro, aeroe]  # att.
    assert found("KAREN.OELGAARD@AAB.DK") == [aab]  # the e-mail address
    assert found("@sønderå.dk") == [oesterbro, aeroe]
    assert found("") == [aab, oesterbro]  # no search: what waits
    assert "Ingen ordrer matcher »findes ikke«" in office.get(
        "/admin/orders/?q=findes+ikke"
    ).get_data(as_text=True)


def test_the_list_is_paged(build_app, staff_users, db):
    app = build_app(INTAKE_ADMIN_PAGE_SIZE=2)
    client = app.test_client()
    assert sign_in(client, OFFICE_EMAIL).status_code == 302
    for _ in range(5):
        place(client)
    newest_first = list(reversed(references(db)))

    pages = [client.get(f"/admin/orders/?page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    assert [rows_of(page) for page in pages] == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:5],
    ]
    assert "Side 1 af 3 (5 ordrer)" in pages[0]
    assert "Næste side" in pages[0] and "Forrige side" not in pages[0]
    assert 'href="/admin/orders/?status=waiting&amp;page=2"' in pages[0]
    assert "Forrige side" in pages[2] and "Næste side" not in pages[2]
    beyond = client.get("/admin/orders/?page=99").get_data(as_text=True)
    assert "Side 3 af 3" in beyond and rows_of(beyond) == newest_first[4:5]
    assert "Side 1 af 3" in client.get("/admin/orders/?page=x").get_data(as_text=True)
    searched = client.get("/admin/orders/?q=s%C3%B8nder%C3%A5&page=2").get_data(as_text=True)
    assert "q=s%C3%B8nder%C3%A5&amp;page=3" in searched or "page=3&amp;q=" in searched


# -- One order -----------------------------------------------------------------------------


def test_the_order_page_shows_lines_address_contact_and_history(office, db):
    place(office)
    (reference,) = references(db)
    html = office.get(f"/admin/orders/{reference}").get_data(as_text=True)
    assert f"Ordre {reference}" in html
    assert '<td class="num">25</td><td>Kommunesamarbejde – Hvorfor og hvordan?</td>' in html
    # The organisation first, then "Att.:", as the post reads an address.
    assert (
        "Boligselskabet Sønderå Ærø<br>Att.: Bjørn Æbelø<br>Søndergade 7, 1. sal<br>5970 Ærøskøbing"
    ) in html
    assert "Åse Bøgh-Ørsted, Forretningsfører" in html
    assert "Levér gerne før jul – tak!" in html
    assert "Ærø (3. kreds)" in html
    assert "Bestilt via formularen" in html
    assert "Markér som pakket" in html and "Markér som afsendt" in html
    assert "Annullér ordren" in html
    assert office.get(f"/admin/orders/{reference.lower()}").status_code == 200


def test_unknown_references_and_start_up_requests_are_404(office, db):
    assert office.get("/admin/orders/PJ-2026-99999").status_code == 404
    submit(office, "/opstartshjaelp/", VALID_HELP)
    (help_reference,) = references(db)
    assert office.get(f"/admin/orders/{help_reference}").status_code == 404
    assert office.get(f"/admin/orders/{help_reference}/slip").status_code == 404


# -- The life cycle ------------------------------------------------------------------------


def test_new_packed_shipped_with_the_e_mail_to_the_orderer(app, office, db, smtp):
    receipt = place(office)
    (reference,) = references(db)
    assert Worker(app).run_once() == 3  # the office, the consultant, the receipt
    assert shipped_emails(smtp) == []

    html = act(office, reference, "pack")
    assert f"Ordren {reference} er markeret som pakket." in html
    order = load(db, reference)
    assert order.order_status is OrderStatus.PACKED and order.packed_at is not None
    assert "Markér som pakket" not in html and "Markér som afsendt" in html

    html = act(
        office,
        reference,
        "ship",
        parcel="00370 71234 5678 9012 34",
        note="Lagt i postkassen – sendt fra Ærø",
    )
    assert "er markeret som afsendt. Bestilleren får en e-mail" in html
    order = load(db, reference)
    assert order.order_status is OrderStatus.SHIPPED
    assert order.shipped_at is not None and order.shipped_at >= order.packed_at
    assert order.parcel_number == "00370712345678901234"  # as copied, without the spaces
    assert order.status_note == "Lagt i postkassen – sendt fra Ærø"
    assert "Handlinger" not in html  # nothing left to do
    assert "Venter på at blive sendt til aase.boegh@sønderå.dk" in html

    assert Worker(app).run_once() == 1
    assert Worker(app).run_once() == 0
    (mail,) = shipped_emails(smtp)
    assert mail.rcpt_tos == [REQUESTER]
    assert mail.message["Subject"] == f"Dine pjecer er på vej ({reference})"
    assert mail.message["To"] == f"Åse Bøgh-Ørsted <{REQUESTER}>"
    assert mail.message["Reply-To"] == "Bjarne Werth <bwj@bl.dk>"
    text = mail.body("plain")
    assert text.startswith("Kære Åse\n\nDine pjecer er på vej.")
    # The date in running text: "den 4. december 2026 kl. 18.35", in Danish time.
    shipped = order.shipped_at.astimezone(DANISH_TIME)
    month = MONTHS[shipped.month - 1]
    assert (
        f"BL's pjeceekspedition sendte din bestilling {reference} den {shipped.day}. {month} "
        f"{shipped.year} kl. {shipped:%H.%M}.\n"
    ) in text
    tracking = "https://tracking.postnord.com/dk/?id=00370712345678901234"
    assert f"Pakkenummer: 00370712345678901234\nFølg pakken her:\n{tracking}\n" in text
    assert "25 stk.  Kommunesamarbejde – Hvorfor og hvordan?" in text
    assert (
        "Boligselskabet Sønderå Ærø\nAtt.: Bjørn Æbelø\nSøndergade 7, 1. sal\n5970 Ærøskøbing"
        in text
    )
    assert "Besked fra BL's pjeceekspedition:\nLagt i postkassen – sendt fra Ærø\n" in text
    assert f"https://intake.bl.dk{receipt}" in text
    html_body = mail.body("html")
    assert f'Pakkenummer: <a href="{tracking}">00370712345678901234</a>' in html_body
    assert "Lagt i postkassen – sendt fra Ærø" in html_body
    assert f'href="https://intake.bl.dk{receipt}"' in html_body
    assert "Sendt til aase.boegh@sønderå.dk" in office.get(f"/admin/orders/{reference}").get_data(
        as_text=True
    )


def test_shipping_straight_from_new_without_a_note(app, office, db, smtp):
    place(office)
    (reference,) = references(db)
    act(office, reference, "ship")
    order = load(db, reference)
    assert order.order_status is OrderStatus.SHIPPED and order.packed_at is None
    assert order.status_note == ""
    Worker(app).run_once()
    (mail,) = shipped_emails(smtp)
    assert "Besked fra BL's pjeceekspedition" not in mail.body("plain")
    assert "Pakkenummer" not in mail.body("plain")


def test_shipping_subtracts_the_stock(office, db):
    set_stock(db, 100)
    place(office)
    place(office, **{"quantity-kommunesamarbejde": "30"})
    first, second = references(db)
    act(office, first, "pack")
    assert stock(db) == 100  # packing does not count
    act(office, first, "ship")
    assert stock(db) == 75
    act(office, second, "ship")
    assert stock(db) == 45
    details = db.scalars(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "order_shipped")
        .order_by(AuditEvent.id)
    ).all()
    assert details == [
        "Lager: Kommunesamarbejde – Hvorfor og hvordan?: 100 → 75",
        "Lager: Kommunesamarbejde – Hvorfor og hvordan?: 75 → 45",
    ]


def test_short_stock_still_ships_clamps_at_zero_and_says_so(office, db):
    place(office)
    set_stock(db, 10)  # counted lower after the order came in
    (reference,) = references(db)
    html = act(office, reference, "ship", note="Resten eftersendes")
    assert stock(db) == 0
    assert load(db, reference).order_status is OrderStatus.SHIPPED
    assert "Bemærk: Der var kun 10 stk. af »Kommunesamarbejde – Hvorfor og hvordan?«" in html
    detail = db.scalars(select(AuditEvent.detail).where(AuditEvent.action == "order_shipped")).one()
    assert detail == (
        "Note: Resten eftersendes\n"
        "Lager for lavt: Kommunesamarbejde – Hvorfor og hvordan?: 10 på lager, 25 afsendt; "
        "lageret er sat til 0."
    )
    assert "10 på lager, 25 afsendt" in html  # in the history


def test_uncounted_stock_stays_uncounted(office, db):
    set_stock(db, None)
    place(office)
    (reference,) = references(db)
    act(office, reference, "ship")
    assert stock(db) is None


def test_cancel_with_a_reason(office, db):
    set_stock(db, 100)
    place(office)
    (reference,) = references(db)
    html = act(office, reference, "cancel", reason="Bestilt to gange.\nSe PJ-2026-00001.")
    assert f"Ordren {reference} er annulleret. Bestilleren får en e-mail med begrundelsen." in html
    order = load(db, reference)
    assert order.order_status is OrderStatus.CANCELLED and order.cancelled_at is not None
    assert order.status_note == "Bestilt to gange.\nSe PJ-2026-00001."
    assert "Begrundelse for annullering" in html
    assert stock(db) == 100
    assert (
        db.scalar(
            select(func.count())
            .select_from(DeliveryJob)
            .where(DeliveryJob.target == JobTarget.SHIPPED)
        )
        == 0
    )


def test_a_cancelled_order_e_mails_the_orderer_the_reason(app, office, db, smtp):
    receipt = place(office)
    (reference,) = references(db)
    assert Worker(app).run_once() == 3  # the office, the consultant, the receipt
    act(office, reference, "cancel", reason="Pjecen er udsolgt.\nVi sender en ny i januar.")
    html = office.get(f"/admin/orders/{reference}").get_data(as_text=True)
    assert "E-mail om annullering" in html and "Venter på at blive sendt" in html

    assert Worker(app).run_once() == 1
    (mail,) = [m for m in smtp.messages if "annulleret" in m.message["Subject"]]
    assert mail.rcpt_tos == [REQUESTER]
    assert mail.message["Subject"] == f"Din bestilling {reference} er annulleret"
    assert mail.message["To"] == f"Åse Bøgh-Ørsted <{REQUESTER}>"
    assert mail.message["Reply-To"] == "Bjarne Werth <bwj@bl.dk>"  # the pamphlet office
    text = mail.body("plain")
    assert text.startswith(
        "Kære Åse\n\nBL's pjeceekspedition har annulleret din bestilling af pjecer med "
        f"referencenummeret {reference}. Pjecerne bliver ikke sendt.\n\n"
        "Begrundelse:\nPjecen er udsolgt.\nVi sender en ny i januar.\n"
    )
    assert "25 stk.  Kommunesamarbejde – Hvorfor og hvordan?" in text
    assert f"https://intake.bl.dk{receipt}" in text
    assert "Dit svar går til BL's pjeceekspedition." in text
    assert "Pjecen er udsolgt.<br>Vi sender en ny i januar." in mail.body("html")
    assert "Sendt til aase.boegh@sønderå.dk" in office.get(f"/admin/orders/{reference}").get_data(
        as_text=True
    )


def test_a_cancel_without_a_reason_is_refused(office, db):
    place(office)
    (reference,) = references(db)
    before = snapshot(db, reference)
    html = act(office, reference, "cancel", reason="   ")
    assert "Skriv, hvorfor ordren annulleres." in html
    assert snapshot(db, reference) == before


IMPOSSIBLE = [
    pytest.param(["ship"], "ship", "er allerede afsendt", id="ship-twice"),
    pytest.param(
        ["ship"], "pack", "er afsendt og kan ikke længere markeres som pakket", id="pack-shipped"
    ),
    pytest.param(
        ["ship"], "cancel", "er afsendt og kan ikke længere annulleres", id="cancel-shipped"
    ),
    pytest.param(["cancel"], "ship", "er annulleret og kan ikke sendes", id="ship-cancelled"),
    pytest.param(
        ["cancel"], "pack", "er annulleret og kan ikke markeres som pakket", id="pack-cancelled"
    ),
    pytest.param(["cancel"], "cancel", "er allerede annulleret", id="cancel-twice"),
    pytest.param(["pack"], "pack", "er allerede markeret som pakket", id="pack-twice"),
]


@pytest.mark.parametrize(("before", "action", "message"), IMPOSSIBLE)
def test_impossible_transitions_are_refused_and_change_nothing(office, db, before, action, message):
    set_stock(db, 100)
    place(office)
    (reference,) = references(db)
    for step in before:
        act(office, reference, step, reason="Fortrudt", note="Første gang")
    state = snapshot(db, reference)
    html = act(office, reference, action, reason="Igen", note="Anden gang")
    assert f"Ordren {reference} {message}" in html
    assert snapshot(db, reference) == state


def test_two_staff_members_cannot_ship_one_order_twice(app, office, db):
    """The second click works on a page (an object) that is out of date: the conditional
    update finds the order already shipped, and nothing more happens."""
    set_stock(db, 100)
    place(office)
    (reference,) = references(db)
    sessionmaker = app.extensions["intake"].database.sessionmaker
    with sessionmaker() as first, sessionmaker() as second:
        mine = orders.find_order(first, reference)
        theirs = orders.find_order(second, reference)
        assert mine is not None and theirs is not None
        orders.mark_shipped(second, theirs, "it@bl.dk", "Først")
        state = snapshot(db, reference)
        with pytest.raises(orders.OrderError, match="blev ændret af en anden i mellemtiden"):
            orders.mark_shipped(first, mine, OFFICE_EMAIL, "Bagefter")
        assert mine.order_status is OrderStatus.SHIPPED  # refreshed
    assert snapshot(db, reference) == state
    assert stock(db) == 75


# -- Audit ---------------------------------------------------------------------------------


def test_every_action_is_audited_with_who_and_what_and_shown(office, admin, db):
    place(office)
    place(office)
    first, second = references(db)
    act(office, first, "pack")
    act(admin, first, "ship", note="Pakke 42")
    act(admin, second, "cancel", reason="Ønsket af bestilleren")

    events = db.execute(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.detail, Submission.reference)
        .join(Submission, AuditEvent.submission_id == Submission.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(event) for event in events] == [
        ("bwj@bl.dk", "order_packed", "", first),
        ("it@bl.dk", "order_shipped", "Note: Pakke 42", first),
        ("it@bl.dk", "order_cancelled", "Ønsket af bestilleren", second),
    ]
    html = office.get(f"/admin/orders/{first}").get_data(as_text=True)
    history = html.split("<h2>Historik</h2>", 1)[1]
    assert re.search(
        r"<td>\d\d\.\d\d\.20\d\d kl\. \d\d\.\d\d</td><td>bwj@bl\.dk</td>"
        r"<td>Markeret som pakket</td>",
        history,
    )
    assert '<td>it@bl.dk</td><td>Markeret som afsendt</td><td class="pre">Note: Pakke 42' in history
    assert "Ønsket af bestilleren" not in history  # the other order's


# -- The receipt page ----------------------------------------------------------------------


def test_the_receipt_page_follows_the_order(office, client, db):
    receipt = place(office)
    (reference,) = references(db)

    def status() -> str:
        html = client.get(receipt).get_data(as_text=True)
        return html.split("<h2>Status for bestillingen</h2>", 1)[1].split("<h2>", 1)[0]

    now = status()
    # The time as in running text: "4. december 2026 kl. 18.35".
    assert re.search(
        rf"Status: <strong>Modtaget</strong> \d{{1,2}}\. ({'|'.join(MONTHS)}) "
        r"20\d\d kl\. \d\d\.\d\d</p>",
        now,
    )
    assert "Pakket – endnu ikke" in now and "Afsendt – endnu ikke" in now
    assert '<li aria-current="step">' in now

    act(office, reference, "pack")
    now = status()
    assert "Status: <strong>Pakket</strong>" in now
    assert "Afsendt – endnu ikke" in now and "Pakket – endnu ikke" not in now

    act(office, reference, "ship", parcel="RR123456789DK", note="Sendt som brev")
    now = status()
    assert "Status: <strong>Afsendt</strong>" in now and "endnu ikke" not in now
    steps = now.split("<ol", 1)[1]
    assert steps.index("Modtaget") < steps.index("Pakket") < steps.index("Afsendt")
    assert (
        'Pakkenummer: RR123456789DK. <a href="https://tracking.postnord.com/dk/?id=RR123456789DK">'
        "Følg pakken hos fragtfirmaet</a>." in now
    )
    assert 'Besked fra BL\'s pjeceekspedition:</p><p class="pre">Sendt som brev</p>' in now
    assert "har sendt pjecerne" in client.get(receipt).get_data(as_text=True)


def test_the_receipt_page_says_cancelled_and_why(office, client, db):
    receipt = place(office)
    (reference,) = references(db)
    act(office, reference, "cancel", reason="Pjecen er udgået; se bl.dk for en ny udgave.")
    html = client.get(receipt).get_data(as_text=True)
    assert "Status: <strong>Annulleret</strong>" in html
    assert "Pjecerne bliver ikke sendt." in html
    assert "Pjecen er udgået; se bl.dk for en ny udgave." in html
    assert "pakker pjecerne og sender dem" not in html


def test_the_receipt_of_a_start_up_request_has_no_order_status(client):
    location = submit(client, "/opstartshjaelp/", VALID_HELP).headers["Location"]
    receipt_token_from(location)
    assert "Status for bestillingen" not in client.get(location).get_data(as_text=True)


# -- CSV -----------------------------------------------------------------------------------


def test_the_csv_opens_in_danish_excel(office, db):
    place(office)
    place(
        office,
        organisation='=HYPERLINK("http://evil.example";"Klik")',
        attention="+45 12 34 56 78",
        note="@SUM(A1:A9)\nanden linje",
        street="-1+1 Vej 3",
    )
    first, second = references(db)
    act(office, first, "ship")

    response = office.get("/admin/orders.csv?status=all")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = datetime.now(DANISH_TIME).strftime("%Y-%m-%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="pjecebestillinger-{today}.csv"'
    )
    assert response.data.startswith(codecs.BOM_UTF8)
    text = response.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0] == [
        "Reference", "Status", "Modtaget", "Boligorganisation", "Att.", "Adresse", "Postnr.",
        "By", "Kommune", "Kontaktperson", "E-mail", "Telefon", "Pjecer", "Antal i alt", "Note",
    ]  # fmt: skip
    by_reference = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert list(by_reference) == [second, first]  # waiting first
    aeroe = by_reference[first]
    assert aeroe["Status"] == "Afsendt"
    assert re.fullmatch(r"\d\d\.\d\d\.20\d\d kl\. \d\d\.\d\d", aeroe["Modtaget"])
    assert aeroe["Boligorganisation"] == "Boligselskabet Sønderå Ærø"
    assert aeroe["Att."] == "Bjørn Æbelø"
    assert aeroe["Adresse"] == "Søndergade 7, 1. sal"
    assert (aeroe["Postnr."], aeroe["By"], aeroe["Kommune"]) == ("5970", "Ærøskøbing", "Ærø")
    assert aeroe["Kontaktperson"] == "Åse Bøgh-Ørsted"
    assert aeroe["E-mail"] == "aase.boegh@sønderå.dk"
    assert aeroe["Telefon"] == "33762040"
    assert aeroe["Pjecer"] == "25 stk. Kommunesamarbejde – Hvorfor og hvordan?"
    assert aeroe["Antal i alt"] == "25"
    assert aeroe["Note"] == "Levér gerne før jul – tak!"

    evil = by_reference[second]
    assert evil["Status"] == "Ny"
    assert evil["Boligorganisation"] == '\'=HYPERLINK("http://evil.example";"Klik")'
    assert evil["Att."] == "'+45 12 34 56 78"
    assert evil["Note"] == "'@SUM(A1:A9)\nanden linje"
    assert evil["Adresse"] == "'-1+1 Vej 3"


def test_the_csv_follows_the_lists_filters(office, db):
    place(office)
    place(office, organisation="Lejerbo Østerbro", postcode="2100", municipality="101")
    aeroe, oesterbro = references(db)
    act(office, aeroe, "ship")

    def exported(query: str) -> list[str]:
        text = office.get(f"/admin/orders.csv?{query}").data.decode("utf-8-sig")
        return [row[0] for row in csv.reader(io.StringIO(text, newline=""), delimiter=";")][1:]

    assert exported("") == [oesterbro]  # as the list: what waits
    assert exported("status=all") == [oesterbro, aeroe]
    assert exported("status=shipped") == [aeroe]
    assert exported("q=%C3%B8sterbro") == [oesterbro]
    assert exported("q=%C3%A6r%C3%B8sk%C3%B8bing") == [aeroe]  # a search looks through all
    assert exported("status=shipped&received=today") == [aeroe]
    assert 'href="/admin/orders.csv?status=shipped"' in office.get(
        "/admin/orders/?status=shipped"
    ).get_data(as_text=True)


# -- Slips ---------------------------------------------------------------------------------


def test_a_packing_slip_for_one_order(office, db):
    place(office)
    (reference,) = references(db)
    html = office.get(f"/admin/orders/{reference}/slip").get_data(as_text=True)
    assert html.count('<article class="slip"') == 1
    assert f"Pakkeseddel {reference}" in html
    assert '<td class="num">25</td><td>Kommunesamarbejde – Hvorfor og hvordan?</td>' in html
    label = html.split('<div class="address-label">', 1)[1].split("</div>", 1)[0]
    # BL's return address, then the organisation first and "Att.: …" under it.
    assert "Afs.: BL – Danmarks Almene Boliger, Studiestræde 50, 1554 København V" in label
    assert (
        "Boligselskabet Sønderå Ærø<br>Att.: Bjørn Æbelø<br>Søndergade 7, 1. sal<br>"
        "<strong>5970 Ærøskøbing</strong>"
    ) in label
    assert "Levér gerne før jul – tak!" in html
    assert "admin.css" in html


def test_slips_for_all_waiting_orders(office, db):
    for _ in range(4):
        place(office)
    first, second, third, fourth = references(db)
    act(office, second, "pack")
    act(office, third, "ship")
    act(office, fourth, "cancel", reason="Fejl")
    html = office.get("/admin/slips").get_data(as_text=True)
    assert html.count('<article class="slip"') == 2
    assert html.index(f"Pakkeseddel {first}") < html.index(f"Pakkeseddel {second}")
    assert f"Pakkeseddel {third}" not in html and f"Pakkeseddel {fourth}" not in html
    act(office, first, "ship")
    act(office, second, "ship")
    assert "Der er ingen ventende ordrer." in office.get("/admin/slips").get_data(as_text=True)


def test_the_print_css_hides_the_header_and_breaks_pages(client):
    with client.get("/intake-static/admin.css") as response:
        css = response.get_data(as_text=True)
    printed = css.split("@media print", 1)[1]
    assert "size: A4" in printed
    assert ".site-header" in printed and "display: none" in printed
    assert "break-after: page" in printed


# -- Escaping ------------------------------------------------------------------------------


def test_a_script_in_the_organisation_or_note_is_escaped_everywhere(app, office, db, smtp):
    place(office, organisation=XSS, note=XSS, attention=XSS)
    (reference,) = references(db)
    act(office, reference, "ship", note=XSS)
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    for path in (
        "/admin/orders/?status=all",
        f"/admin/orders/?q={reference}",
        f"/admin/orders/{reference}",
        f"/admin/orders/{reference}/slip",
    ):
        html = office.get(path).get_data(as_text=True)
        assert "<script>" not in html, path
        assert escaped in html, path
    searched = office.get("/admin/orders/", query_string={"q": XSS}).get_data(as_text=True)
    assert "<script>" not in searched
    row = office.get("/admin/orders.csv?status=all").data.decode("utf-8-sig").splitlines()[1]
    assert row.startswith(f"{reference};Afsendt;")  # text in a CSV; no cell starts a formula
    response = office.get("/admin/orders.csv")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    Worker(app).run_once()
    (mail,) = shipped_emails(smtp)
    assert "<script>" not in mail.body("html") and escaped in mail.body("html")
    assert XSS in mail.body("plain")  # plain text is plain


# -- Access --------------------------------------------------------------------------------

ACTIONS = [("pack", {}), ("ship", {"note": "x"}), ("cancel", {"reason": "x"})]


@pytest.mark.parametrize(("action", "data"), ACTIONS, ids=[a for a, _ in ACTIONS])
def test_an_action_without_a_csrf_token_is_refused(office, db, action, data):
    place(office)
    (reference,) = references(db)
    before = snapshot(db, reference)
    response = office.post(f"/admin/orders/{reference}/{action}", data=data)
    assert response.status_code == 400
    assert "sikkerhedsnøglen" in response.get_data(as_text=True)
    wrong = office.post(
        f"/admin/orders/{reference}/{action}", data={"csrf_token": "forfalsket", **data}
    )
    assert wrong.status_code == 400
    assert snapshot(db, reference) == before


def test_anonymous_visitors_go_to_sign_in_and_change_nothing(app, client, db):
    receipt = place(client)
    (reference,) = references(db)
    before = snapshot(db, reference)
    pages = ["/admin/orders/", f"/admin/orders/{reference}", "/admin/orders.csv"]
    pages += [f"/admin/orders/{reference}/slip", "/admin/slips"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/admin/login?next="), path
    for action, data in ACTIONS:
        response = client.post(f"/admin/orders/{reference}/{action}", data=data)
        assert response.status_code == 302, action
        assert response.headers["Location"].startswith("/admin/login?next="), action
    assert snapshot(db, reference) == before
    assert client.get(receipt).status_code == 200  # the receipt stays public


def test_office_and_admin_both_see_every_page(office, admin, db):
    place(office)
    (reference,) = references(db)
    pages = ["/admin/orders/", f"/admin/orders/{reference}", "/admin/orders.csv"]
    pages += [f"/admin/orders/{reference}/slip", "/admin/slips"]
    for path in pages:
        assert office.get(path).status_code == 200, path
        assert admin.get(path).status_code == 200, path


def test_the_menu_links_to_orders_and_slips(office):
    html = office.get("/admin/orders/").get_data(as_text=True)
    assert 'href="/admin/orders/"' in html and 'href="/admin/slips"' in html
