"""The back office's orders in a real browser: sign in, find an order, ship it, print slips.

Debian's Chromium through Playwright (tests/support/browser.py); SQLite only. Screenshots of
the order list, the order page and the printed packing slips go to test-output/ (git-ignored),
and the slips also as an A4 PDF.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import OrderStatus, Submission
from tests.support.browser import no_axe_violations, screenshot
from tests.support.helpers import VALID_ORDER, submit
from tests.support.paths import OUTPUT_DIR
from tests.support.staff import OFFICE_EMAIL, STAFF_PASSWORD

PARCEL = "00370 71234 5678 9012 34"  # as copied from the carrier's label
NOTE = "Lagt i postkassen – GLS"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only (overrides conftest's SQLite/PostgreSQL parametrisation)."""
    return sqlite_url


@pytest.fixture
def page(desktop_page: Page) -> Page:
    return desktop_page


@pytest.mark.browser
def test_sign_in_ship_an_order_and_print_the_slips(
    page: Page, live_server: str, client, staff_users, db: Session
) -> None:
    receipt = submit(client, "/pjecer/", VALID_ORDER).headers["Location"]
    submit(
        client,
        "/pjecer/",
        VALID_ORDER,
        organisation="Lejerbo Østerbro",
        postcode="2100",
        municipality="101",
        attention="Søren Ågård",
        note="",
        **{"quantity-kommunesamarbejde": "40"},
    )
    submit(client, "/pjecer/", VALID_ORDER, organisation="AAB Århus", postcode="8000")
    first, second, third = db.scalars(select(Submission.reference).order_by(Submission.id))

    # Signing in through the form brings the office back to the page it asked for.
    page.goto(live_server + "/admin/orders/")
    page.wait_for_url(re.compile(r"/admin/login\?next="))
    page.get_by_label("E-mail").fill(OFFICE_EMAIL)
    page.get_by_label("Adgangskode").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(live_server + "/admin/orders/")
    assert page.get_by_role("heading", level=1).inner_text() == "Pjecebestillinger"
    rows = page.locator("table.orders tbody tr")
    assert rows.count() == 3
    assert rows.first.locator("td").nth(1).inner_text() == third  # newest first
    no_axe_violations(page)

    # Ship the oldest order with a parcel number.
    page.get_by_role("link", name=first).click()
    page.wait_for_url(live_server + f"/admin/orders/{first}")
    screenshot(page, "admin-ordre-ny")
    page.get_by_label("Pakkenummer (valgfrit)").fill(PARCEL)
    page.get_by_label("Besked til bestilleren (valgfrit)").fill(NOTE)
    page.get_by_role("button", name="Markér som afsendt").click()
    page.wait_for_load_state()
    assert f"Ordren {first} er markeret som afsendt." in page.locator(".notice").inner_text()
    facts = page.locator("dl.facts").first.inner_text()
    assert NOTE in facts and "00370712345678901234" in facts
    assert "Markeret som afsendt" in page.locator("table.history").inner_text()
    no_axe_violations(page)
    screenshot(page, "admin-ordre")

    db.expire_all()
    shipped = db.scalars(select(Submission).where(Submission.reference == first)).one()
    assert shipped.order_status is OrderStatus.SHIPPED and shipped.status_note == NOTE
    assert shipped.parcel_number == "00370712345678901234"

    # The orderer's receipt page now says so.
    orderer = page.context.browser.new_context(locale="da-DK")  # not signed in
    receipt_page = orderer.new_page()
    receipt_page.goto(live_server + receipt)
    progress = receipt_page.locator("ol.order-progress").inner_text()
    assert re.fullmatch(r"Modtaget .* ✓\nPakket ✓\nAfsendt .* ✓", progress), progress
    assert receipt_page.get_by_text("Status: Afsendt").count() == 1
    tracking = receipt_page.get_by_role("link", name="Følg pakken hos fragtfirmaet")
    assert tracking.get_attribute("href") == (
        "https://tracking.postnord.com/dk/?id=00370712345678901234"
    )
    no_axe_violations(receipt_page)
    screenshot(receipt_page, "kvittering-afsendt")
    orderer.close()

    # Back on the list of all orders: the shipped one has gone to the bottom.
    page.get_by_role("link", name="Ordrer", exact=True).click()
    page.wait_for_url(live_server + "/admin/orders/")
    assert rows.count() == 2  # what waits
    page.get_by_role("link", name="Alle (3)").click()
    page.wait_for_url(live_server + "/admin/orders/?status=all")
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)] == [
        third,
        second,
        first,
    ]
    assert "Afsendt" in rows.nth(2).inner_text()
    screenshot(page, "admin-ordrer")

    # The slips of the two waiting orders, as printed: no header, one A4 page each.
    page.get_by_role("link", name="Pakkesedler", exact=True).click()
    page.wait_for_url(live_server + "/admin/slips")
    assert page.locator("article.slip").count() == 2
    no_axe_violations(page)
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    assert page.locator(".no-print").is_hidden()
    assert page.locator(".address-label").first.is_visible()
    screenshot(page, "admin-pakkesedler-print")
    pdf = page.pdf(path=str(OUTPUT_DIR / "admin-pakkesedler.pdf"), prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 2
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]\.\d* 841\.\d*", pdf)  # A4 in points
