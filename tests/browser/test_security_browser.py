"""The Content-Security-Policy in a real browser: Chromium reports no violation on any of
our pages, and the stylesheets still apply (intake.web.security_headers).

SQLite only, like the other browser tests: the database is not what they test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.helpers import VALID_HELP, VALID_ORDER, submit
from tests.support.staff import OFFICE_EMAIL, STAFF_PASSWORD


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only (overrides conftest's SQLite/PostgreSQL parametrisation)."""
    return sqlite_url


class Watched:
    """A page whose CSP violations (as Chromium logs them) are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.violations: list[str] = []
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def open(self, url: str, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == status, url
        assert "script-src 'self';" in response.headers["content-security-policy"]
        # The stylesheet from our static route applies: the header is not unstyled.
        colour = self.page.eval_on_selector(
            ".site-header", "el => getComputedStyle(el).backgroundColor"
        )
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), url


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(locale="da-DK")
    yield Watched(context.new_page())
    context.close()


def test_no_page_breaks_the_policy(watched, live_server, client, staff_users):
    receipt = submit(client, "/opstartshjaelp/", VALID_HELP).headers["Location"]
    assert submit(client, "/pjecer/", VALID_ORDER).status_code == 303  # a slip and a label
    for path in ["/pjecer/", "/opstartshjaelp/", receipt]:
        watched.open(live_server + path)
    watched.open(live_server + "/kvittering/forkert", status=404)
    watched.open(live_server + "/admin/login")
    page = watched.page
    page.get_by_label("E-mail").fill(OFFICE_EMAIL)
    page.get_by_label("Adgangskode").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(live_server + "/admin/orders/")
    for path in [
        "/admin/orders/",
        "/admin/catalogue/",
        "/admin/municipalities/492",
        "/admin/slips",
        "/admin/labels",  # its own stylesheet for the label sheet
        "/admin/overview",  # the map: SVG drawn by the server
    ]:
        watched.open(live_server + path)
    # The charts fit a phone's width through admin.css, not a style attribute.
    page.set_viewport_size({"width": 375, "height": 740})
    width = page.eval_on_selector("svg.chart", "el => el.getBoundingClientRect().width")
    assert width <= 375
    width = page.eval_on_selector("svg.coverage-map", "el => el.getBoundingClientRect().width")
    assert 300 <= width <= 375
    assert watched.violations == []
