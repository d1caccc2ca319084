"""Both forms in English in Chromium, keyboard only, with axe-core on every page met (issue 17).

A Danish browser finds the "English" link by keyboard (the second tab stop, after the skip
link); an English browser (Accept-Language en-GB) gets English at once. SQLite only, as the
other browser tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Submission
from tests.browser.test_browser import (
    HONEYPOT,
    all_tab_stops,
    check_receipt,
    contact_by_keyboard,
    focus,
    tab,
    topics_and_cooperation_by_keyboard,
    type_into,
)
from tests.support.browser import axe_violations, screenshot


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def new_page(browser: Browser, contexts: list[BrowserContext], locale: str) -> Page:
    """A fresh context whose browser asks for `locale` (its Accept-Language)."""
    contexts.append(browser.new_context(locale=locale))
    return contexts[-1].new_page()


def no_violations(page: Page, what: str) -> None:
    assert (report := axe_violations(page)) == "", f"{what}:\n{report}"


def html_lang(page: Page) -> str:
    return page.evaluate("document.documentElement.lang")


def skip_to_content(page: Page) -> None:
    link = tab(page, "")
    assert link["tag"] == "a" and link["text"] == "Skip to content", link
    page.keyboard.press("Enter")
    assert focus(page)["id"] == "indhold"


def errors_in_english(page: Page, what: str) -> None:
    """Send the empty form (by keyboard): the English error summary, linked, and no violation."""
    page.locator("button[type=submit]").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert summary.get_by_role("heading").inner_text() == "There is a problem"
    assert page.title().startswith("Error: ")
    assert "Enter your last name." in summary.inner_text()
    no_violations(page, f"{what} (with errors)")


@pytest.mark.browser
def test_the_pamphlet_order_in_english_by_keyboard_only(
    browser: Browser, contexts: list[BrowserContext], live_server: str, db: Session
) -> None:
    page = new_page(browser, contexts, "da-DK")
    page.goto(live_server + "/pjecer/")
    assert html_lang(page) == "da"
    # The link to English is the second tab stop, after the skip link.
    tab(page, "")
    link = tab(page, "")
    assert (link["tag"], link["text"]) == ("a", "English"), link
    page.keyboard.press("Enter")
    page.wait_for_url("**/pjecer/?lang=en")
    assert html_lang(page) == "en"
    assert page.locator("h1").inner_text() == "Order pamphlets"
    no_violations(page, "/pjecer/ in English")
    errors_in_english(page, "/pjecer/")

    page.goto(live_server + "/pjecer/")  # the cookie keeps English
    assert html_lang(page) == "en"
    stops = all_tab_stops(page)
    assert [s["text"] for s in stops[:2]] == ["Skip to content", "Dansk"]
    assert [s for s in stops if HONEYPOT in (s["name"], s["id"])] == []

    page.goto(live_server + "/pjecer/")
    skip_to_content(page)
    type_into(page, "quantity-kommunesamarbejde", "10")
    contact_by_keyboard(page)
    type_into(page, "phone", "33 76 20 40")
    type_into(page, "role", "Chair")
    type_into(page, "street", "Æblevej 3")
    type_into(page, "postcode", "5970")
    tab(page, "city")
    type_into(page, "attention", "Søren Ågård")
    type_into(page, "note", "Please leave them in the letterbox.")
    button = tab(page, "")
    assert button["tag"] == "button" and button["text"] == "Send order", button
    notice = tab(page, "")
    assert notice["text"] == "Read how BL handles your personal data (opens in a new tab)"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")

    check_receipt(page, "Thank you for your order", "PJ")
    assert html_lang(page) == "en"
    body = page.locator("main").inner_text()
    assert "10 × Kommunesamarbejde – Hvorfor og hvordan?" in body
    assert "What happens next?" in body and "working days" in body
    screenshot(page, "pjecer-receipt-en")
    no_violations(page, "the receipt in English")

    submission = db.scalars(select(Submission)).one()
    assert (submission.language, submission.city) == ("en", "Ærøskøbing")
    assert submission.organisation == "Boligforeningen Ærøhøj"


@pytest.mark.browser
def test_the_start_up_request_in_english_by_keyboard_only(
    browser: Browser, contexts: list[BrowserContext], live_server: str, db: Session
) -> None:
    page = new_page(browser, contexts, "en-GB")  # Accept-Language decides: English
    page.goto(live_server + "/opstartshjaelp/")
    assert html_lang(page) == "en"
    assert page.locator("h1").inner_text() == "Get help starting a municipal cooperation"
    no_violations(page, "/opstartshjaelp/ in English")
    errors_in_english(page, "/opstartshjaelp/")

    page.goto(live_server + "/opstartshjaelp/")
    skip_to_content(page)
    contact_by_keyboard(page)
    tab(page, "phone")
    tab(page, "role")
    topics_and_cooperation_by_keyboard(page)
    type_into(page, "participants", "Ærøskøbing Boligforening")
    type_into(page, "message", "We would like to get started.")
    button = tab(page, "")
    assert button["tag"] == "button" and button["text"] == "Send request", button
    page.keyboard.press("Space")

    check_receipt(page, "Thank you for your request for help", "OH")
    body = page.locator("main").inner_text()
    assert "Utilities and charges" in body and "No, not yet" in body
    assert "district consultant (kredskonsulent) for Ærø Kommune" in body
    no_violations(page, "the start-up receipt in English")

    page.goto(live_server + "/privatliv/")
    assert page.locator("h1").inner_text() == "How BL handles your personal data"
    no_violations(page, "/privatliv/ in English")
    page.goto(live_server + "/findes-ikke")
    assert page.locator("h1").inner_text() == "Page not found"
    no_violations(page, "404 in English")

    submission = db.scalars(select(Submission)).one()
    assert submission.language == "en"
    assert sorted(submission.topics) == ["forsyning_takster", "styringsdialog"]
