"""The routing and a request's page in a real browser (Debian's Chromium; SQLite only): an admin
corrects a municipality's kreds, tries a kreds no consultant covers first, and sends a request
on; each page has no axe-core violation. Screenshots go to test-output/."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Submission
from tests.support.browser import no_axe_violations, screenshot
from tests.support.helpers import VALID_HELP, submit
from tests.support.staff import ADMIN_EMAIL, STAFF_PASSWORD, authenticator_code


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def page(desktop_page: Page) -> Page:
    return desktop_page


@pytest.mark.browser
def test_an_admin_corrects_a_kreds_and_sends_a_request_on(
    page: Page, live_server: str, app: Flask, client, staff_users, db: Session
) -> None:
    submit(client, "/opstartshjaelp/", VALID_HELP)  # Ærø, to Jens B. Hansen
    reference = db.scalars(select(Submission.reference)).one()

    page.goto(live_server + "/admin/routing/")
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Adgangskode").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(re.compile(r"/admin/login/code"))
    page.get_by_label("Kode").fill(authenticator_code(app, ADMIN_EMAIL))
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(live_server + "/admin/routing/")
    assert page.get_by_role("heading", level=1).inner_text() == "Routing"
    no_axe_violations(page)
    screenshot(page, "admin-routing")

    page.get_by_role("link", name="Ærø", exact=True).click()
    page.wait_for_url(live_server + "/admin/routing/492")
    assert page.get_by_label("Kreds").input_value() == "3"
    page.get_by_label("gæt").check()
    page.evaluate("document.querySelector('#kreds').add(new Option('12', '12'))")
    page.get_by_label("Kreds").select_option("12")  # as a stale page could post
    page.get_by_role("button", name="Gem").click()
    alert = page.get_by_role("alert").inner_text()
    assert "Kreds „12“ har ingen konsulent." in alert
    no_axe_violations(page)
    screenshot(page, "admin-routing-fejl")
    page.get_by_label("Kreds").select_option("7")
    page.get_by_label("bekræftet").check()
    page.get_by_label("Kilde eller note (valgfrit)").fill("Bekræftet af 7. kreds")
    page.get_by_role("button", name="Gem").click()
    page.wait_for_url(live_server + "/admin/routing/")
    assert "Routingen for Ærø Kommune er gemt." in page.locator(".notice").inner_text()

    page.goto(live_server + "/admin/consultants/")
    assert page.get_by_role("group", name="Pjecekontoret").is_visible()
    no_axe_violations(page)
    screenshot(page, "admin-konsulenter")

    page.goto(live_server + f"/admin/requests/{reference}")
    no_axe_violations(page)
    page.get_by_label("Send videre til").select_option(label="Søren Madsen")
    page.get_by_label("Besked til konsulenterne (valgfrit)").fill("Ærø er i 7. kreds")
    page.get_by_role("button", name="Send videre").click()
    page.wait_for_url(live_server + f"/admin/requests/{reference}")
    assert f"{reference} er sendt videre til Søren Madsen." in page.locator(".notice").inner_text()
    assert "Søren Madsen" in page.locator("dl.facts").first.inner_text()
    assert "Sendt videre til en anden konsulent" in page.locator("table.history").inner_text()
    no_axe_violations(page)
    screenshot(page, "admin-henvendelse-sendt-videre")
