"""What a person meets in Chromium when the form is filled at autofill speed, when a password
manager fills the hidden field, and after errors; on a 320 px phone; and that no request of a
page fails (the favicon included).

INTAKE_MIN_FILL_SECONDS is the default 3 here, as in production: Playwright fills a form in
well under a second, as a browser's autofill does. Debian's Chromium, SQLite only; screenshots
go to test-output/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import HeldPost, Submission
from tests.support.browser import axe_violations, screenshot
from tests.support.staff import OFFICE_EMAIL, STAFF_PASSWORD

NARROWEST = {"width": 320, "height": 640}
CHECK_AGAIN = "Din henvendelse er ikke sendt endnu. Tjek oplysningerne, og send igen."


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only (overrides conftest's SQLite/PostgreSQL parametrisation)."""
    return sqlite_url


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    config["INTAKE_MIN_FILL_SECONDS"] = 3  # the default: autofill is faster than that
    return config


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="da-DK")
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def autofill_order(page: Page) -> None:
    """Every field at once, as a browser's autofill (and Playwright's fill) does."""
    page.get_by_label("Kommunesamarbejde – Hvorfor og hvordan?").fill("12")
    page.get_by_label("Boligorganisation", exact=True).fill("Boligforeningen Ærøhøj")
    page.get_by_label("Kommune", exact=True).select_option("492")
    page.get_by_label("Fornavn (valgfrit)").fill("Søren")
    page.get_by_label("Efternavn").fill("Ågård")
    page.get_by_label("E-mail").fill("soeren@ærøhøj.dk")
    page.get_by_label("Telefon (valgfrit)").fill("33 76 20 40")
    page.get_by_label("Vej og husnummer").fill("Æblevej 3")
    page.get_by_label("Postnummer").fill("5970")
    page.get_by_label("Bemærkning (valgfrit)").fill("Læg dem i postkassen – tak!")


def focused(page: Page) -> str:
    return page.evaluate("() => document.activeElement.className || document.activeElement.id")


@pytest.mark.browser
def test_a_form_filled_at_autofill_speed_comes_back_and_the_second_press_sends_it(
    page: Page, live_server: str, db: Session
) -> None:
    page.goto(live_server + "/pjecer/")
    autofill_order(page)
    page.get_by_role("button", name="Send bestilling").click()
    page.wait_for_load_state()

    # The form again: the calm line, focused, and every value as it was.
    assert page.url == live_server + "/pjecer/"
    notice = page.locator(".notice-summary")
    assert notice.inner_text() == CHECK_AGAIN
    assert focused(page) == "notice-summary"
    assert "modtaget" not in page.locator("main").inner_text().lower()
    assert page.get_by_label("Kommunesamarbejde – Hvorfor og hvordan?").input_value() == "12"
    assert page.get_by_label("Boligorganisation", exact=True).input_value() == (
        "Boligforeningen Ærøhøj"
    )
    assert page.get_by_label("Kommune", exact=True).input_value() == "492"
    assert page.get_by_label("Bemærkning (valgfrit)").input_value() == "Læg dem i postkassen – tak!"
    assert page.get_by_label("By (valgfrit)").input_value() == "Ærøskøbing"  # from the postcode
    screenshot(page, "pjecer-send-igen")
    assert (report := axe_violations(page)) == "", report
    assert db.scalars(select(Submission)).all() == []

    # Pressed again at once: the receipt, with its reference.
    page.get_by_role("button", name="Send bestilling").click()
    page.wait_for_url(re.compile(r"/kvittering/[^/]+$"))
    reference = page.locator(".reference").inner_text()
    stored = db.scalars(select(Submission)).one()
    assert stored.reference == reference
    assert stored.organisation == "Boligforeningen Ærøhøj"
    assert [(line.quantity) for line in stored.lines] == [12]


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/pjecer/", "/opstartshjaelp/"])
def test_after_errors_focus_is_on_the_error_summary(page: Page, live_server: str, path: str):
    page.goto(live_server + path)
    page.get_by_role("button").click()
    page.wait_for_load_state()
    assert focused(page) == "error-summary"
    # Tab goes on from there to the first error's link.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('.error-summary') !== null")


@pytest.mark.browser
def test_a_password_manager_filling_the_hidden_field_gets_a_held_post_that_staff_release(
    context: BrowserContext, page: Page, live_server: str, db: Session, staff_users: Any
) -> None:
    page.goto(live_server + "/pjecer/")
    autofill_order(page)
    for _ in range(2):  # autofill speed: the form comes back first, then the press goes through
        page.locator("#website").fill("Søren Ågård", force=True)  # what such a manager does
        page.get_by_role("button", name="Send bestilling").click()
        page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Vi ser din bestilling igennem"
    assert "modtaget" not in page.locator("main").inner_text().lower()
    assert (report := axe_violations(page)) == "", report
    screenshot(page, "pjecer-tilbageholdt")
    assert db.scalars(select(Submission)).all() == []

    staff = context.browser.new_context(locale="da-DK").new_page()
    staff.goto(live_server + "/admin/held/")
    staff.get_by_label("E-mail").fill(OFFICE_EMAIL)
    staff.get_by_label("Adgangskode").fill(STAFF_PASSWORD)
    staff.get_by_role("button", name="Log ind").click()
    staff.wait_for_url(live_server + "/admin/held/")
    assert "Søren Ågård" in staff.locator("section.held-post code").inner_text()
    assert (report := axe_violations(staff)) == "", report
    screenshot(staff, "admin-tilbageholdte")
    staff.get_by_role("button", name="Frigiv og send videre").click()
    staff.wait_for_load_state()
    stored = db.scalars(select(Submission)).one()
    assert f"frigivet som {stored.reference}" in staff.locator(".notice").inner_text()
    assert db.scalars(select(HeldPost)).all() == []
    staff.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/pjecer/", "/opstartshjaelp/", "/privatliv/"])
def test_the_narrowest_phone_has_no_sideways_scrolling_and_the_h1_wraps(
    browser: Browser, live_server: str, path: str
) -> None:
    context = browser.new_context(locale="da-DK", viewport=NARROWEST)
    page = context.new_page()
    page.goto(live_server + path)
    width = page.evaluate("document.documentElement.scrollWidth")
    heading = page.locator("h1").bounding_box()
    screenshot(page, f"{path.strip('/')}-320")
    context.close()
    assert width <= NARROWEST["width"], f"{path} is {width}px wide at 320px"
    assert heading is not None and heading["x"] + heading["width"] <= NARROWEST["width"]


@pytest.mark.browser
def test_no_request_of_a_page_fails_and_the_favicon_is_ours(page: Page, live_server: str) -> None:
    answers: list[Response] = []
    page.on("response", lambda answer: answers.append(answer))
    for path in ("/pjecer/", "/opstartshjaelp/", "/privatliv/"):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
    failed = [f"{a.status} {a.url}" for a in answers if a.status >= 400]
    assert failed == []
    icons = [a for a in answers if "favicon" in a.url]
    assert icons and all(a.status == 200 for a in icons)
    assert all(a.url.startswith(live_server) for a in answers)
