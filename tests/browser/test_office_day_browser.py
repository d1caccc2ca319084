"""The pamphlet office's day and the director's overview in a real browser (Debian's Chromium).

The office signs in and lands on the waiting orders, selects three, prints their slips and
marks them packed in one step, then marks them shipped with a note for one; the overview with
its map is looked at on a desktop (1280 px) and a phone (375 px); and every back-office page
is read at 320 px, where no table may make the page scroll sideways, and checked with
axe-core. Screenshots go to test-output/ (kontor-*.png, overblik-*.png, smal-*.png). SQLite
only, like the other browser tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.backoffice.order_search import start_of_today
from intake.models import OrderStatus, Submission, utcnow
from tests.support.browser import axe_violations, screenshot
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.paths import OUTPUT_DIR
from tests.support.staff import (
    ADMIN_EMAIL,
    CODE_PAGE,
    OFFICE_EMAIL,
    STAFF_PASSWORD,
    authenticator_code,
)

PARCEL = "Pakkenummer 00370 7239 – GLS"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only (overrides conftest's SQLite/PostgreSQL parametrisation)."""
    return sqlite_url


@pytest.fixture
def context(browser: Browser) -> Iterator[Any]:
    context = browser.new_context(locale="da-DK", viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Page:
    return context.new_page()


def no_axe_violations(page: Page) -> None:
    assert (report := axe_violations(page)) == "", f"{page.url}:\n{report}"


# The outermost elements that reach past the window's right edge, to name in a failure.
TOO_WIDE = """() => {
  const window_ = document.documentElement.clientWidth;
  const wide = [...document.body.querySelectorAll('*')].filter(
    el => el.getBoundingClientRect().right > window_ + 0.5);
  const right = el => Math.round(el.getBoundingClientRect().right);
  return wide.filter(el => !wide.includes(el.parentElement)).slice(0, 5).map(
    el => `${el.tagName.toLowerCase()}.${el.className} (${right(el)} px)`);
}"""


def no_sideways_scrolling(page: Page) -> None:
    """The page is no wider than the window (a wide table scrolls in its own box)."""
    width, window = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width <= window, f"{page.url}: {width} px in {window} px: {page.evaluate(TOO_WIDE)}"


def sign_in(page: Page, live_server: str, email: str, app: Flask | None = None) -> None:
    """The password, and for an admin (`app` given) the authenticator app's code too."""
    page.goto(live_server + "/admin/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Adgangskode").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    if app is not None:
        page.wait_for_url(live_server + CODE_PAGE)
        page.get_by_label("Kode").fill(authenticator_code(app, email))
        page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(live_server + "/admin/orders/")


def order(client: Any, **overrides: Any) -> None:
    assert submit(client, "/pjecer/", VALID_ORDER, **overrides).status_code == 303


def references(db: Session) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(Submission.reference).order_by(Submission.id)))


def statuses(db: Session) -> dict[str, tuple[OrderStatus | None, str]]:
    db.expire_all()
    rows = db.execute(select(Submission.reference, Submission.order_status, Submission.status_note))
    return {reference: (status, note) for reference, status, note in rows}


@pytest.mark.browser
def test_the_office_day(page: Page, live_server: str, client, staff_users, db: Session) -> None:
    order(client)  # yesterday's, shipped already
    order(client, organisation="Lejerbo Østerbro", postcode="2100", municipality="101")
    order(client, organisation="AAB Aarhus", postcode="8000", municipality="751", attention="")
    order(client, organisation="Boligselskabet Sjælland", postcode="4000", municipality="265")
    order(client, organisation="Fruehøjgaard", postcode="7400", municipality="657")
    done, oesterbro, aarhus, sjaelland, herning = references(db)
    yesterday = start_of_today(utcnow()) - timedelta(hours=3)
    db.execute(
        update(Submission)
        .where(Submission.reference == done)
        .values(created_at=yesterday, order_status=OrderStatus.SHIPPED)
    )
    db.commit()

    # Signing in lands on the waiting orders, newest first.
    sign_in(page, live_server, OFFICE_EMAIL)
    assert page.get_by_role("heading", level=1).inner_text() == "Pjecebestillinger"
    assert page.title() == "Ordrer – Administration, BL"
    assert page.locator(".signout").inner_text().startswith("bwj@bl.dk (pjeceekspedition)")
    rows = page.locator("table.orders tbody tr")
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())] == [
        herning,
        sjaelland,
        aarhus,
        oesterbro,
    ]
    no_axe_violations(page)
    screenshot(page, "kontor-1-ventende")

    # A search for a town finds the order, whatever its status.
    search = "Søg på reference, boligorganisation, navn, e-mail, postnummer eller by"
    page.get_by_label(search).fill("Aarhus")
    page.get_by_role("button", name="Søg").click()
    assert page.locator("table.orders tbody tr").count() == 1
    assert aarhus in page.locator("table.orders").inner_text()
    page.get_by_role("link", name="Ordrer", exact=True).click()

    # Select three, then print their slips and mark them packed in one step.
    for reference in (oesterbro, aarhus, sjaelland):
        page.get_by_label(f"Vælg {reference}").check()
    screenshot(page, "kontor-2-tre-valgt")
    page.get_by_role("button", name="Udskriv og markér som pakket").click()
    page.wait_for_url(re.compile(r"/admin/slips\?"))
    assert "3 ordrer er markeret som pakkede" in page.locator(".notice").inner_text()
    assert page.locator("article.slip").count() == 3
    label = page.locator(".address-label").nth(1).inner_text()
    assert [line for line in label.splitlines() if line][:3] == [
        "Afs.: BL – Danmarks Almene Boliger, Studiestræde 50, 1554 København V",
        "AAB Aarhus",
        "Søndergade 7, 1. sal",
    ]
    no_axe_violations(page)
    screenshot(page, "kontor-3-pakkesedler")
    page.emulate_media(media="print")
    assert page.locator(".notice").is_hidden() and page.locator(".site-header").is_hidden()
    screenshot(page, "kontor-4-pakkesedler-udskrift")
    pdf = page.pdf(path=str(OUTPUT_DIR / "kontor-pakkesedler.pdf"), prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 3
    page.emulate_media(media="screen")
    assert {statuses(db)[r][0] for r in (oesterbro, aarhus, sjaelland)} == {OrderStatus.PACKED}
    assert statuses(db)[herning][0] is OrderStatus.NEW

    # The same three on a label sheet: one A4 page, 3 × 8 places.
    page.get_by_role("link", name="Samme ordrer som labelark (3 × 8 labels på A4)").click()
    page.wait_for_url(re.compile(r"/admin/labels\?"))
    assert page.locator(".sheet-label").count() == 3
    no_axe_violations(page)
    page.emulate_media(media="print")
    box = page.locator(".sheet-label").first.bounding_box()
    assert box is not None
    assert round(box["width"] / 96 * 25.4) == 70 and round(box["height"] / 96 * 25.4) == 37
    screenshot(page, "kontor-5-labelark-udskrift")
    pdf = page.pdf(path=str(OUTPUT_DIR / "kontor-labelark.pdf"), prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    page.emulate_media(media="screen")

    # Back on the list, the packed ones: mark them shipped, a parcel number for one.
    page.goto(live_server + "/admin/orders/?status=packed")
    for reference in (oesterbro, aarhus, sjaelland):
        page.get_by_label(f"Vælg {reference}").check()
    page.get_by_role("button", name="Markér som afsendt …").click()
    page.wait_for_url(re.compile(r"/admin/orders/ship\?"))
    page.get_by_label(f"Note til {aarhus}, fx pakkenummer (valgfrit)").fill(PARCEL)
    no_axe_violations(page)
    screenshot(page, "kontor-6-afsend")
    page.get_by_role("button", name="Markér alle 3 som afsendt").click()
    page.wait_for_url(live_server + "/admin/orders/")
    notice = page.locator(".notice").inner_text()
    assert "3 ordrer er markeret som afsendte" in notice and aarhus in notice
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())] == [herning]
    no_axe_violations(page)
    screenshot(page, "kontor-7-afsendt")
    now = statuses(db)
    assert now[aarhus] == (OrderStatus.SHIPPED, PARCEL)
    assert now[oesterbro] == now[sjaelland] == (OrderStatus.SHIPPED, "")

    # Only today's: the order shipped yesterday is not among them.
    page.get_by_role("link", name="Alle (5)").click()
    page.get_by_role("link", name="Kun modtaget i dag").click()
    assert page.locator("table.orders tbody tr").count() == 4
    assert done not in page.locator("table.orders").inner_text()


def requests_of_every_stage(client: Any) -> None:
    help_yes = {**VALID_HELP, "existing_cooperation": "yes"}
    for code in ("101", "147", "751", "461", "851", "400"):
        assert submit(client, "/opstartshjaelp/", help_yes, municipality=code).status_code == 303
    for code in ("169", "173", "621", "825"):
        assert submit(client, "/opstartshjaelp/", VALID_HELP, municipality=code).status_code == 303
    for code in ("492", "563", "787", "860", "330", "175"):
        order(client, municipality=code)


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (375, 740)])
def test_the_overview_and_its_map(
    context: Any, page: Page, live_server: str, client, staff_users, width: int, height: int
) -> None:
    requests_of_every_stage(client)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server, OFFICE_EMAIL)
    page.goto(live_server + "/admin/overview")
    headline = page.locator("#daekning-i-alt").inner_text()
    assert "6 af 98 kommuner har et kommunesamarbejde (6 %)" in " ".join(headline.split())
    svg = page.locator("svg.coverage-map")
    box = svg.bounding_box()
    assert box is not None and box["width"] <= width and box["height"] > box["width"]
    assert page.locator("svg.coverage-map a").count() == 98
    no_sideways_scrolling(page)
    no_axe_violations(page)
    screenshot(page, f"overblik-{width}")
    # The table behind the disclosure: folded until asked for.
    assert page.locator("#tabel-daekning").is_hidden()
    page.get_by_text("Kortets data som tabel (98 kommuner)").click()
    assert page.locator("#tabel-daekning tbody tr").count() == 98
    no_sideways_scrolling(page)
    # A municipality on the map is a link to its requests.
    page.locator('svg.coverage-map a[data-kode="400"]').click()
    page.wait_for_url(live_server + "/admin/municipalities/400")
    assert page.get_by_role("heading", level=1).inner_text() == "Bornholm"
    assert "Har et kommunesamarbejde" in page.locator("dl.facts").inner_text()
    no_axe_violations(page)


@pytest.mark.browser
def test_every_back_office_page_at_320_px(
    page: Page, live_server: str, app: Flask, client, staff_users, db: Session
) -> None:
    requests_of_every_stage(client)
    order(client, organisation="Boligforeningen Østerbro-Nørrebro Ølstykke Afdeling 12-14")
    first = references(db)[-1]
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(live_server + "/admin/login")
    no_sideways_scrolling(page)
    no_axe_violations(page)
    sign_in(page, live_server, ADMIN_EMAIL, app)
    pages = {
        "ordrer": "/admin/orders/?status=all",
        "ordre": f"/admin/orders/{first}",
        "pakkesedler": "/admin/slips",
        "labelark": "/admin/labels",
        "afsend": f"/admin/orders/ship?reference={first}",
        "pjecer": "/admin/catalogue/",
        "ny-pjece": "/admin/catalogue/new",
        "pjece": "/admin/catalogue/kommunesamarbejde",
        "overblik": "/admin/overview",
        "kommune": "/admin/municipalities/101",
        "leverancer": "/admin/deliveries/",
    }
    for name, path in pages.items():
        page.goto(live_server + path)
        for summary in page.locator("summary").all():
            summary.click()  # the folded tables too
        no_sideways_scrolling(page)
        no_axe_violations(page)
        if name in {"ordrer", "overblik", "labelark"}:
            screenshot(page, f"smal-{name}")
