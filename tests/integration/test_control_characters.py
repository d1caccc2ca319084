"""Control characters in a back-office address answer a Danish 400, over real HTTP, on
SQLite and PostgreSQL: before, a NUL in the search or in an order's or pamphlet's path was a
500 on PostgreSQL, and on SQLite `q=%00` listed every order."""

from __future__ import annotations

import pytest

from tests.support.helpers import VALID_ORDER, submit
from tests.support.staff import OFFICE_EMAIL
from tests.support.visitor import Visitor

BAD = ["%00", "%0D%0A", "%0A", "%1B", "%7F", "%C2%85"]  # NUL, CR LF, LF, ESC, DEL, C1 NEL
DANISH = "Adressen indeholder et tegn, der ikke kan bruges i en adresse"


@pytest.fixture
def office_browser(live_server, staff_users, client) -> Visitor:
    assert submit(client, "/pjecer/", VALID_ORDER).status_code == 303
    browser = Visitor(live_server)
    assert browser.sign_in(OFFICE_EMAIL).status_code == 302
    return browser


def _addresses(bad: str) -> list[str]:
    return [
        f"/admin/orders/?q={bad}",
        f"/admin/orders/?q=Ærø{bad}",
        f"/admin/orders/?status={bad}",
        f"/admin/orders/?page=1{bad}",
        f"/admin/orders/?{bad}=1",
        f"/admin/orders.csv?q={bad}",
        f"/admin/orders/PJ-2026-00001{bad}",
        f"/admin/orders/PJ{bad}/slip",
        f"/admin/catalogue/kommunesamarbejde{bad}",
        f"/admin/deliveries/?x={bad}",
        f"/admin/overview?q={bad}",
    ]


@pytest.mark.parametrize("bad", BAD)
def test_control_characters_in_a_back_office_address_are_a_danish_400(office_browser, bad):
    for address in _addresses(bad):
        response = office_browser.get(address)
        assert response.status_code == 400, address
        assert DANISH in response.text, address
    assert office_browser.signed_in()  # nothing else happened to the session


def test_signed_out_visitors_get_the_400_too(live_server, db):
    response = Visitor(live_server).get("/admin/orders/?q=%00")
    assert response.status_code == 400 and DANISH in response.text


def test_the_search_still_finds_by_text(office_browser):
    listed = office_browser.get("/admin/orders/?q=S%C3%B8nder%C3%A5")
    assert listed.status_code == 200 and "Sønderå" in listed.text
    assert (
        "Ingen ordrer matcher »findes-ikke«."
        in office_browser.get("/admin/orders/?q=findes-ikke").text
    )
