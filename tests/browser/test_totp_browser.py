"""An admin enrols an authenticator app in Chromium, as a person would: signs in with the
password, scans the QR code (read back from Chromium's own screenshot with zxing-cpp, as a
phone's camera would read the screen), types the code, keeps the recovery codes, then signs
in again with a code.

Screenshots go to test-output/ (admin-totp-*.png). The pages make no request to any other
site and break no rule of the Content-Security-Policy; axe-core finds nothing.
SQLite only, like the other browser tests.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page

from intake.models import StaffRole
from intake.staff import accounts
from tests.support.browser import axe_violations, screenshot
from tests.support.staff import STAFF_PASSWORD, authenticator_code

EMAIL = "lise@bl.dk"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only (overrides conftest's SQLite/PostgreSQL parametrisation)."""
    return sqlite_url


class Watched:
    """A page, with what it asked for and what the CSP refused."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.violations: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(locale="da-DK", viewport={"width": 1280, "height": 900})
    yield Watched(context.new_page())
    context.close()


def no_axe_violations(page: Page) -> None:
    assert (report := axe_violations(page)) == "", f"{page.url}:\n{report}"


def read_qr(png: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def sign_in_with_password(page: Page, live_server: str) -> None:
    page.goto(live_server + "/admin/deliveries/")
    page.wait_for_url(re.compile(r"/admin/login\?next="))
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Adgangskode").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log ind").click()


@pytest.mark.browser
def test_an_admin_enrols_an_authenticator_app_in_chromium(
    watched: Watched, live_server: str, app: Flask
) -> None:
    with app.extensions["intake"].database.sessionmaker() as session:
        accounts.create(session, EMAIL, STAFF_PASSWORD, StaffRole.ADMIN)
        session.commit()
    page = watched.page

    sign_in_with_password(page, live_server)
    page.wait_for_url(re.compile(r"/admin/login/enrol"))
    assert page.get_by_role("heading", level=1).inner_text() == "Slå totrinsbekræftelse til"
    screenshot(page, "admin-totp-tilmelding")
    no_axe_violations(page)

    # The QR code as the screen shows it holds the secret the page writes out.
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    uri = pyotp.TOTP(secret).provisioning_uri(name=EMAIL, issuer_name="BL Intake")
    assert read_qr(page.locator("figure.qr svg").screenshot()) == [uri]

    page.get_by_label("Kode fra appen").fill("000000")
    page.get_by_role("button", name="Slå totrinsbekræftelse til").click()
    assert "Koden passer ikke." in page.get_by_role("alert").inner_text()
    screenshot(page, "admin-totp-forkert-kode")

    page.get_by_label("Kode fra appen").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Slå totrinsbekræftelse til").click()
    page.get_by_role("heading", name="Dine gendannelseskoder").wait_for()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){2}", c) for c in codes)
    screenshot(page, "admin-totp-gendannelseskoder")
    no_axe_violations(page)
    page.get_by_role("link", name="Jeg har gemt koderne – fortsæt").click()
    page.wait_for_url(live_server + "/admin/deliveries/")

    page.get_by_role("button", name="Log ud").click()
    page.wait_for_url(live_server + "/admin/login")
    assert "Du er logget ud." in page.get_by_role("status").inner_text()

    # The next sign-in asks for a code.
    sign_in_with_password(page, live_server)
    page.wait_for_url(re.compile(r"/admin/login/code"))
    screenshot(page, "admin-totp-kode")
    no_axe_violations(page)
    page.get_by_label("Kode").fill(authenticator_code(app, EMAIL))
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(live_server + "/admin/deliveries/")

    assert all(url.startswith(live_server) for url in watched.requests), watched.requests
    assert watched.violations == []


@pytest.mark.browser
def test_the_enrolment_page_fits_a_phone(browser: Browser, live_server: str, app: Flask) -> None:
    with app.extensions["intake"].database.sessionmaker() as session:
        accounts.create(session, EMAIL, STAFF_PASSWORD, StaffRole.ADMIN)
        session.commit()
    context = browser.new_context(locale="da-DK", viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        sign_in_with_password(page, live_server)
        page.wait_for_url(re.compile(r"/admin/login/enrol"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375
        qr = page.locator("figure.qr svg").bounding_box()
        assert qr is not None and qr["width"] <= 375
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        assert read_qr(page.locator("figure.qr svg").screenshot()) == [
            pyotp.TOTP(secret).provisioning_uri(name=EMAIL, issuer_name="BL Intake")
        ]
        screenshot(page, "admin-totp-tilmelding-mobil")
    finally:
        context.close()
