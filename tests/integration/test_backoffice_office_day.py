"""The pamphlet office's day on the order list: what waits, today's orders, a selection acted
on at once (packed; printed and packed; shipped with a note each or none), the slips and the
label sheet with BL's return address.

Orders come in through the real public form; staff act through the real pages and forms with
their CSRF tokens; the "on their way" e-mails are caught by a real SMTP server.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake.backoffice.order_search import start_of_today
from intake.delivery.worker import Worker
from intake.models import AuditEvent, DeliveryJob, OrderStatus, Submission, utcnow
from tests.support.helpers import VALID_ORDER, hidden_fields, submit
from tests.support.settings import send_mail_to
from tests.support.staff import OFFICE_EMAIL, sign_in

RETURN_ADDRESS = "BL – Danmarks Almene Boliger, Studiestræde 50, 1554 København V"


@pytest.fixture
def config(config, smtp):
    return send_mail_to(config, smtp)


def place(client: Any, **overrides: Any) -> str:
    response = submit(client, "/pjecer/", VALID_ORDER, **overrides)
    assert response.status_code == 303, response.get_data(as_text=True)
    return db_reference(client)


def db_reference(client: Any) -> str:
    html = client.get("/admin/orders/?status=all").get_data(as_text=True)
    return rows_of(html)[0]


def rows_of(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/orders/(PJ-[0-9-]+)">', html)


def statuses(db: Session) -> dict[str, OrderStatus]:
    db.expire_all()
    rows = db.execute(select(Submission.reference, Submission.order_status))
    return {reference: status for reference, status in rows}


def selection(client: Any, action: str, references: list[str], **extra: str) -> Any:
    """Tick these orders on the list and press the action's button."""
    page = client.get("/admin/orders/").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    back = hidden_fields(page)["back"]
    data = {"csrf_token": token, "back": back, "action": action, "reference": references}
    return client.post("/admin/orders/selection", data={**data, **extra})


def counted(db: Session) -> tuple[int, int]:
    return (
        db.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        db.scalar(select(func.count()).select_from(DeliveryJob)) or 0,
    )


@pytest.fixture
def three(office: Any) -> list[str]:
    """Three new orders, oldest first."""
    first = place(office)
    second = place(office, organisation="Lejerbo Østerbro", postcode="2100", municipality="101")
    third = place(office, organisation="AAB Aarhus", postcode="8000", municipality="751")
    return [first, second, third]


def test_received_today_filter(office, db, three):
    first, second, third = three
    yesterday = start_of_today(utcnow()) - timedelta(minutes=1)
    db.execute(update(Submission).where(Submission.reference == first).values(created_at=yesterday))
    db.commit()
    html = office.get("/admin/orders/?received=today").get_data(as_text=True)
    assert rows_of(html) == [third, second]
    assert 'aria-current="true">Kun modtaget i dag' in html
    assert "Venter (nye og pakkede) (2)" in html  # the counts follow the day filter
    assert rows_of(office.get("/admin/orders/").get_data(as_text=True)) == [third, second, first]


def test_start_of_today_is_danish_midnight():
    # 23.30 UTC on 1 July is 01.30 on 2 July in Denmark (summer time, UTC+2).
    assert start_of_today(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == datetime(
        2026, 7, 1, 22, 0, tzinfo=UTC
    )
    # In winter Denmark is UTC+1.
    assert start_of_today(datetime(2026, 12, 4, 12, 0, tzinfo=UTC)) == datetime(
        2026, 12, 3, 23, 0, tzinfo=UTC
    )


def test_pack_a_selection(office, db, three):
    first, second, third = three
    response = selection(office, "pack", [first, third])
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/orders/"
    html = office.get(response.headers["Location"]).get_data(as_text=True)
    assert f"2 ordrer er markeret som pakkede: {first}, {third}." in html
    assert statuses(db) == {
        first: OrderStatus.PACKED,
        second: OrderStatus.NEW,
        third: OrderStatus.PACKED,
    }
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "order_packed")).all()
    assert {(event.actor, event.submission_id is not None) for event in events} == {
        (OFFICE_EMAIL, True)
    }
    assert len(events) == 2


def test_print_and_pack_in_one_step(office, db, three):
    first, second, third = three
    response = selection(office, "print_and_pack", [third, first, second])
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/admin/slips?")
    assert set(statuses(db).values()) == {OrderStatus.PACKED}
    html = office.get(location).get_data(as_text=True)
    assert "3 ordrer er markeret som pakkede" in html
    # The slips of exactly the selection, oldest first, each with its label.
    assert re.findall(r'<h2 id="slip-([^"]+)">', html) == [first, second, third]
    assert html.count('<div class="address-label">') == 3
    assert "nye som pakket" not in html  # nothing left to mark
    # Printing the same batch again and marking it again changes nothing and is no fault.
    before = counted(db)
    again = selection(office, "print_and_pack", [first, second, third])
    assert counted(db) == before
    assert "markeret" not in office.get(again.headers["Location"]).get_data(as_text=True)


def test_print_only_leaves_them_new_with_a_button_to_mark_them_packed(office, db, three):
    first, second, _ = three
    response = selection(office, "print", [first, second])
    html = office.get(response.headers["Location"]).get_data(as_text=True)
    assert set(statuses(db).values()) == {OrderStatus.NEW}
    assert html.count('<article class="slip"') == 2
    assert "Markér de 2 nye som pakket" in html
    form = html.split('action="/admin/orders/selection"', 1)[1].split("</form>", 1)[0]
    assert re.findall(r'name="reference" value="([^"]+)"', form) == [first, second]
    token = hidden_fields(html)["csrf_token"]
    office.post(
        "/admin/orders/selection",
        data={"csrf_token": token, "action": "pack", "reference": [first, second]},
    )
    assert statuses(db)[first] is statuses(db)[second] is OrderStatus.PACKED


def test_ship_a_selection_with_a_note_each_or_none(app, office, db, smtp, three):
    first, second, third = three
    Worker(app).run_once()  # the orders' own e-mails out of the way
    smtp.messages.clear()
    response = selection(office, "ship", [first, third])
    assert response.headers["Location"].startswith("/admin/orders/ship?")
    page = office.get(response.headers["Location"]).get_data(as_text=True)
    assert "Markér 2 ordrer som afsendt" in page
    assert f'<label for="note-{first}">Note til {first}, fx pakkenummer (valgfrit)</label>' in page
    assert f'id="note-{third}"' in page and f'id="note-{second}"' not in page

    token = hidden_fields(page)["csrf_token"]
    note = "Pakkenummer 00370 7239 – GLS, Ærø"
    shipped = office.post(
        "/admin/orders/ship",
        data={
            "csrf_token": token,
            "reference": [first, third],
            f"note-{first}": note,
            f"note-{third}": "",
        },
    )
    assert shipped.status_code == 303 and shipped.headers["Location"] == "/admin/orders/"
    html = office.get("/admin/orders/").get_data(as_text=True)
    assert "2 ordrer er markeret som afsendte, og hver bestiller får en e-mail" in html
    db.expire_all()
    orders = {o.reference: o for o in db.scalars(select(Submission))}
    assert orders[first].order_status is OrderStatus.SHIPPED
    assert orders[first].status_note == note
    assert orders[third].order_status is OrderStatus.SHIPPED and orders[third].status_note == ""
    assert orders[second].order_status is OrderStatus.NEW
    assert Worker(app).run_once() == 2
    texts = sorted(m.body("plain") for m in smtp.messages)
    assert sum(note in text for text in texts) == 1
    assert all(m.message["Subject"].startswith("Dine pjecer er på vej") for m in smtp.messages)


def test_a_note_too_long_changes_nothing_and_keeps_what_was_typed(office, db, three):
    first, second, _ = three
    page = office.get(f"/admin/orders/ship?reference={first}&reference={second}")
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    before = (statuses(db), counted(db))
    response = office.post(
        "/admin/orders/ship",
        data={
            "csrf_token": token,
            "reference": [first, second],
            f"note-{first}": "Pakke til Ærø",
            f"note-{second}": "x" * 256,
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"{second}: Skriv højst 255 tegn." in html
    assert 'value="Pakke til Ærø"' in html
    assert (statuses(db), counted(db)) == before


def test_an_order_shipped_meanwhile_is_reported_and_the_others_go(app, office, db, three):
    first, second, _ = three
    page = office.get(f"/admin/orders/ship?reference={first}&reference={second}")
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    other = app.test_client()  # a colleague ships the first order in the meantime
    assert sign_in(other, OFFICE_EMAIL).status_code == 302
    selection(other, "ship", [first])
    other_page = other.get(f"/admin/orders/ship?reference={first}").get_data(as_text=True)
    other.post(
        "/admin/orders/ship",
        data={"csrf_token": hidden_fields(other_page)["csrf_token"], "reference": [first]},
    )
    office.post("/admin/orders/ship", data={"csrf_token": token, "reference": [first, second]})
    html = office.get("/admin/orders/").get_data(as_text=True)
    assert f"Ordren {second} er markeret som afsendt" in html
    assert f"Ordren {first} er allerede afsendt." in html
    assert (
        db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "order_shipped")
        )
        == 2
    )


@pytest.mark.parametrize("action", ["pack", "print", "print_and_pack", "ship"])
def test_nothing_selected_changes_nothing_and_says_so(office, db, three, action):
    before = (statuses(db), counted(db))
    response = selection(office, action, [])
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/orders/"
    assert "Vælg en eller flere ordrer i listen først" in office.get("/admin/orders/").get_data(
        as_text=True
    )
    assert (statuses(db), counted(db)) == before


def test_the_selection_needs_its_csrf_token(office, db, three):
    before = (statuses(db), counted(db))
    response = office.post("/admin/orders/selection", data={"action": "pack", "reference": three})
    assert response.status_code == 400
    assert (statuses(db), counted(db)) == before


def test_the_list_goes_back_to_where_it_was_and_nowhere_else(office, db, three):
    page = office.get("/admin/orders/?status=new&q=%C3%B8sterbro").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    back = hidden_fields(page)["back"]
    assert back == "/admin/orders/?status=new&q=%C3%B8sterbro"
    kept = office.post(
        "/admin/orders/selection",
        data={"csrf_token": token, "back": back, "action": "pack", "reference": three[1]},
    )
    assert kept.headers["Location"] == back
    for evil in ("https://evil.example/admin/orders/", "//evil.example/", "/admin/overview"):
        response = office.post(
            "/admin/orders/selection",
            data={"csrf_token": token, "back": evil, "action": "pack", "reference": three[0]},
        )
        assert response.headers["Location"] == "/admin/orders/", evil


def test_the_label_sheet_three_by_eight_with_the_return_address(office, db):
    for _ in range(25):
        place(office)
    html = office.get("/admin/labels").get_data(as_text=True)
    sheets = html.split('<section class="label-sheet"')[1:]
    assert [sheet.count('<div class="sheet-label">') for sheet in sheets] == [24, 1]
    label = sheets[0].split('<div class="sheet-label">', 2)[1]
    assert f"Afs.: {RETURN_ADDRESS}" in label
    assert (
        "Boligselskabet Sønderå Ærø<br>Att.: Bjørn Æbelø<br>Søndergade 7, 1. sal<br>5970 Ærøskøbing"
    ) in label
    # A sheet used before: its first labels stay empty, the rest follow on.
    skipped = office.get("/admin/labels?skip=5").get_data(as_text=True)
    sheets = skipped.split('<section class="label-sheet"')[1:]
    assert [sheet.count('<div class="sheet-label">') for sheet in sheets] == [19, 6]
    assert sheets[0].count("sheet-label-empty") == 5
    assert office.get("/admin/labels?skip=x").status_code == 200


def test_the_label_sheet_of_a_selection(office, db, three):
    first, _, third = three
    html = office.get(f"/admin/labels?reference={third}&reference={first}").get_data(as_text=True)
    assert html.count('<div class="sheet-label">') == 2
    assert html.index(f">{first}<") < html.index(f">{third}<")  # oldest first
    unknown = office.get("/admin/labels?reference=PJ-1999-00001").get_data(as_text=True)
    assert "Ingen af de valgte ordrer findes." in unknown


def test_the_return_address_is_a_setting(build_app, staff_users, db):
    app = build_app(INTAKE_RETURN_ADDRESS="BL Pjeceekspedition\nPostboks 2070\n1013 København K")
    client = app.test_client()
    assert sign_in(client, OFFICE_EMAIL).status_code == 302
    place(client)
    html = client.get("/admin/slips").get_data(as_text=True)
    assert "Afs.: BL Pjeceekspedition, Postboks 2070, 1013 København K" in html


def test_a_stale_token_on_the_ship_page_keeps_the_notes_and_ships_nothing(office, db, three):
    first, second, _ = three
    before = (statuses(db), counted(db))
    response = office.post(
        "/admin/orders/ship",
        data={
            "csrf_token": "udløbet",
            "reference": [first, second],
            f"note-{first}": "Pakke 1 af 2 – Ærø",
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "sikkerhedsnøglen manglede eller var udløbet" in html
    assert 'value="Pakke 1 af 2 – Ærø"' in html  # what was typed comes back
    assert f'id="note-{second}"' in html
    assert (statuses(db), counted(db)) == before
