"""The public pages in a real browser: keyboard only, axe-core, phone width, no JavaScript.

Drives Debian's Chromium through Playwright's sync API (Playwright's own browser download
is never used). One browser per module, a fresh context per test. These tests run on
SQLite only: the database is not what they test, and they are the slowest in the suite.
Full-page screenshots of the error and receipt pages go to test-output/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Submission
from tests.support.browser import axe_violations, screenshot

PHONE = {"width": 375, "height": 740}
HONEYPOT = "website"

FOCUS_JS = """() => {
  const el = document.activeElement;
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '',
    type: el.getAttribute('type') || '', text: (el.innerText || '').trim(),
    value: 'value' in el ? String(el.value) : '', checked: !!el.checked,
    outline: getComputedStyle(el).outlineStyle,
    onScreen: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0,
    hiddenFromAT: !!el.closest('[aria-hidden="true"]'),
  };
}"""


# --- Fixtures ---------------------------------------------------------------------------


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only (overrides conftest's SQLite/PostgreSQL parametrisation)."""
    return sqlite_url


class Visit:
    """A browser context of its own, recording every URL its pages request."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.requests: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))
        self.page = context.new_page()

    def third_party_requests(self) -> list[str]:
        own = urlsplit(self.base_url).netloc
        return [url for url in self.requests if urlsplit(url).netloc != own]


@pytest.fixture
def visit(browser: Browser, live_server: str) -> Iterator[Callable[..., Visit]]:
    """Make a fresh context (keyword arguments go to new_context); all closed afterwards."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Visit:
        context = browser.new_context(locale="da-DK", **options)
        contexts.append(context)
        return Visit(context, live_server)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(visit: Callable[..., Visit]) -> Page:
    return visit().page


# --- Helpers ----------------------------------------------------------------------------


def focus(page: Page) -> dict[str, Any]:
    return page.evaluate(FOCUS_JS)


def tab(page: Page, expected_id: str) -> dict[str, Any]:
    """Press Tab and check that focus lands, visibly, on the element with `expected_id`."""
    page.keyboard.press("Tab")
    now = focus(page)
    assert now["name"] != HONEYPOT and now["id"] != HONEYPOT, "Tab reached the honeypot"
    assert now["id"] == expected_id, f"expected focus on #{expected_id}, got {now}"
    assert now["onScreen"], f"focused element is off screen: {now}"
    assert not now["hiddenFromAT"], f"focused element is inside aria-hidden: {now}"
    assert now["outline"] != "none", f"no visible focus outline: {now}"
    return now


def type_into(page: Page, expected_id: str, text: str, value: str | None = None) -> None:
    """Tab to the field and type; `value` is what the browser then holds, if not the text
    (Chromium keeps an e-mail field's domain in punycode)."""
    tab(page, expected_id)
    page.keyboard.type(text)
    assert focus(page)["value"] == (value or text)


def all_tab_stops(page: Page, limit: int = 80) -> list[dict[str, Any]]:
    """Every element Tab reaches from the top of the page, once round."""
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focus(page)
        if now["tag"] == "body" or (stops and now == stops[0]):
            return stops
        stops.append(now)
    raise AssertionError(f"Tab did not come round after {limit} stops: {stops}")


def check_tab_stops(page: Page, url: str) -> None:
    page.goto(url)
    stops = all_tab_stops(page)
    assert stops[0]["text"] == "Gå til indholdet"
    assert [s for s in stops if HONEYPOT in (s["name"], s["id"])] == [], stops
    assert [s for s in stops if s["hiddenFromAT"] or not s["onScreen"]] == [], stops


def skip_to_content(page: Page) -> None:
    """Tab to the skip link and follow it: focus is then on <main>, before the first field."""
    link = tab(page, "")
    assert link["tag"] == "a" and link["text"] == "Gå til indholdet", link
    page.keyboard.press("Enter")
    assert focus(page)["id"] == "indhold"


def privacy_link(stop: dict[str, Any]) -> None:
    """The notice under the send button links to the privacy page: the tab stop after it."""
    assert stop["tag"] == "a", stop
    assert stop["text"] == "Læs, hvordan BL behandler dine oplysninger (åbner i en ny fane)", stop


def choose_aeroe(page: Page) -> None:
    """On the focused municipality <select>: type-ahead to Vordingborg, then one ArrowDown.

    (Type-ahead works for ASCII letters; Playwright cannot type "Æ" as a key press.)
    """
    page.keyboard.type("Vordingborg")
    assert focus(page)["value"] == "390"
    page.keyboard.press("ArrowDown")
    assert focus(page)["value"] == "492"  # Ærø, the last municipality in Danish order


def contact_by_keyboard(page: Page) -> None:
    """From the field before it: the organisation, Ærø, past the CVR, the name and e-mail."""
    type_into(page, "organisation", "Boligforeningen Ærøhøj")
    tab(page, "municipality")
    choose_aeroe(page)
    tab(page, "cvr")
    type_into(page, "first_name", "Søren")
    type_into(page, "last_name", "Ågård")
    type_into(page, "email", "soeren@ærøhøj.dk", "soeren@xn--rhj-xla5gb.dk")


def topics_and_cooperation_by_keyboard(page: Page) -> None:
    """From the role field: tick the second and third topics, answer the second answer."""
    # Topics: every checkbox is a tab stop of its own; Space ticks it.
    tab(page, "topics-0")
    tab(page, "topics-1")
    page.keyboard.press("Space")
    tab(page, "topics-2")
    page.keyboard.press("Space")
    tab(page, "topics-3")
    tab(page, "topics-4")
    # A radio group is one tab stop; the arrow keys move within it and choose.
    tab(page, "existing_cooperation-0")
    page.keyboard.press("ArrowDown")
    now = focus(page)
    assert (now["id"], now["checked"]) == ("existing_cooperation-1", True)


def check_receipt(page: Page, heading: str, prefix: str) -> str:
    page.wait_for_url(re.compile(r"/kvittering/[^/]+$"))
    assert page.locator("h1").inner_text() == heading
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(rf"{prefix}-20\d\d-00001", reference), reference
    return reference


def fill_pamphlet_order(page: Page) -> None:
    page.get_by_label("Kommunesamarbejde – Hvorfor og hvordan?").fill("10")
    fill_contact(page)
    page.get_by_label("Vej og husnummer").fill("Æblevej 3")
    page.get_by_label("Postnummer").fill("5970")


def fill_startup_help(page: Page) -> None:
    fill_contact(page)
    page.get_by_label("Styringsdialog").check()
    page.get_by_label("Nej, ikke endnu").check()


def fill_contact(page: Page) -> None:
    page.get_by_label("Boligorganisation", exact=True).fill("Boligforeningen Ærøhøj")
    page.get_by_label("Kommune", exact=True).select_option("492")
    page.get_by_label("Fornavn").fill("Søren")
    page.get_by_label("Efternavn").fill("Ågård")
    page.get_by_label("E-mail").fill("soeren@ærøhøj.dk")


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: page is {width}px wide on a 375px screen"


SMALL_CONTROLS_JS = """() => { return [...document.querySelectorAll(
    'main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select,'
    + ' main textarea, main button')]
  .filter(el => !el.closest('[aria-hidden="true"]'))
  .map(el => ({id: el.id || el.tagName, box: el.getBoundingClientRect(),
               font: parseFloat(getComputedStyle(el).fontSize)}))
  .filter(c => c.box.height < 24 || c.box.width < 24 || c.font < 16)
  .map(c => `${c.id}: ${Math.round(c.box.width)}x${Math.round(c.box.height)}px, font ${c.font}px`);
}"""


def no_small_controls(page: Page) -> None:
    """Fields and buttons are at least 24x24 CSS px (WCAG 2.5.8) with 16px text.

    (Under 16px, phones zoom in on focus; checkboxes and radios count with their labels.)
    """
    assert page.evaluate(SMALL_CONTROLS_JS) == []


# --- Tests ------------------------------------------------------------------------------


@pytest.mark.browser
def test_pamphlet_order_by_keyboard_only(page: Page, live_server: str, db: Session) -> None:
    check_tab_stops(page, live_server + "/pjecer/")

    page.goto(live_server + "/pjecer/")
    skip_to_content(page)
    type_into(page, "quantity-kommunesamarbejde", "10")  # empty until a number is written
    contact_by_keyboard(page)
    type_into(page, "phone", "33 76 20 40")
    type_into(page, "role", "Formand")
    type_into(page, "street", "Æblevej 3")
    type_into(page, "postcode", "5970")
    tab(page, "city")
    type_into(page, "attention", "Søren Ågård")
    type_into(page, "note", "Læg dem i postkassen – tak!")
    button = tab(page, "")
    assert button["tag"] == "button" and button["text"] == "Send bestilling", button
    privacy_link(tab(page, ""))  # the notice under the button, no box to tick
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")

    reference = check_receipt(page, "Tak for din bestilling", "PJ")
    body = page.locator("main").inner_text()
    assert "10 stk. Kommunesamarbejde – Hvorfor og hvordan?" in body
    assert "Æblevej 3\n5970 Ærøskøbing" in body

    submission = db.scalars(select(Submission)).one()
    assert submission.reference == reference
    assert submission.organisation == "Boligforeningen Ærøhøj"
    assert (submission.first_name, submission.last_name) == ("Søren", "Ågård")
    assert submission.email == "soeren@ærøhøj.dk"
    assert submission.phone == "33762040"
    assert submission.role == "Formand"
    assert (submission.municipality_code, submission.municipality_name) == ("492", "Ærø")
    assert (submission.street, submission.postcode, submission.city) == (
        "Æblevej 3",
        "5970",
        "Ærøskøbing",
    )
    assert submission.attention == "Søren Ågård"
    assert submission.note == "Læg dem i postkassen – tak!"
    assert [(line.title, line.quantity) for line in submission.lines] == [
        ("Kommunesamarbejde – Hvorfor og hvordan?", 10)
    ]


@pytest.mark.browser
def test_startup_help_by_keyboard_only(page: Page, live_server: str, db: Session) -> None:
    check_tab_stops(page, live_server + "/opstartshjaelp/")

    page.goto(live_server + "/opstartshjaelp/")
    skip_to_content(page)
    contact_by_keyboard(page)
    tab(page, "phone")
    tab(page, "role")
    topics_and_cooperation_by_keyboard(page)
    type_into(page, "participants", "Ærøskøbing Boligforening")
    type_into(page, "message", "Vi vil gerne i gang.\nHvor starter vi på Ærø?")
    button = tab(page, "")
    assert button["tag"] == "button" and button["text"] == "Send anmodning", button
    page.keyboard.press("Space")

    reference = check_receipt(page, "Tak for din anmodning om hjælp", "OH")
    body = page.locator("main").inner_text()
    assert "Forsyning og takster" in body and "Styringsdialog" in body
    assert "Nej, ikke endnu" in body

    submission = db.scalars(select(Submission)).one()
    assert submission.reference == reference
    assert submission.organisation == "Boligforeningen Ærøhøj"
    assert submission.full_name == "Søren Ågård"
    assert submission.email == "soeren@ærøhøj.dk"
    assert submission.municipality_name == "Ærø"
    assert sorted(submission.topics) == ["forsyning_takster", "styringsdialog"]
    assert submission.existing_cooperation == "no"
    assert submission.participants == "Ærøskøbing Boligforening"
    assert submission.message == "Vi vil gerne i gang.\nHvor starter vi på Ærø?"


FORMS = [
    pytest.param("/pjecer/", fill_pamphlet_order, "Tak for din bestilling", "PJ", id="pjecer"),
    pytest.param(
        "/opstartshjaelp/",
        fill_startup_help,
        "Tak for din anmodning om hjælp",
        "OH",
        id="opstartshjaelp",
    ),
]


@pytest.mark.browser
@pytest.mark.parametrize(("path", "fill", "heading", "prefix"), FORMS)
def test_axe_finds_no_violations_and_nothing_leaves_the_site(
    visit: Callable[..., Visit],
    live_server: str,
    path: str,
    fill: Callable[[Page], None],
    heading: str,
    prefix: str,
) -> None:
    name = path.strip("/")
    visitor = visit()
    page = visitor.page

    page.goto(live_server + path)
    assert (report := axe_violations(page)) == "", f"{path} (empty):\n{report}"

    page.get_by_role("button").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert summary.get_by_role("heading").inner_text() == "Der er et problem"
    assert page.title().startswith("Fejl: ")
    for href in summary.get_by_role("link").evaluate_all("links => links.map(a => a.hash)"):
        assert page.locator(href).count() == 1, f"error summary links to missing {href}"
    screenshot(page, f"{name}-fejl")
    assert (report := axe_violations(page)) == "", f"{path} (with errors):\n{report}"

    fill(page)
    page.get_by_role("button").click()
    check_receipt(page, heading, prefix)
    screenshot(page, f"{name}-kvittering")
    assert (report := axe_violations(page)) == "", f"{path} (receipt):\n{report}"

    assert any(url.endswith("/intake-static/intake.css") for url in visitor.requests)
    assert visitor.third_party_requests() == []


@pytest.mark.browser
def test_the_notice_under_the_button_links_to_the_privacy_page_in_a_new_tab(
    visit: Callable[..., Visit], live_server: str
) -> None:
    visitor = visit()
    page = visitor.page
    page.goto(live_server + "/pjecer/")
    page.get_by_label("Boligorganisation", exact=True).fill("Boligforeningen Ærøhøj")

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Læs, hvordan BL behandler dine oplysninger").click()
    notice = opened.value
    notice.wait_for_load_state()

    assert notice.url == live_server + "/privatliv/"
    assert notice.locator("h1").inner_text() == "Sådan behandler BL dine oplysninger"
    assert "gemmer vi dine oplysninger i 2 år" in notice.locator("main").inner_text()
    screenshot(notice, "privatliv")
    assert (report := axe_violations(notice)) == "", f"/privatliv/:\n{report}"
    assert "litra b" in notice.locator("main").inner_text()  # the legal basis, not consent
    # The half-filled form stays as it was.
    organisation = page.get_by_label("Boligorganisation", exact=True)
    assert organisation.input_value() == "Boligforeningen Ærøhøj"
    assert visitor.third_party_requests() == []


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/pjecer/", "/opstartshjaelp/"])
def test_error_summary_lists_errors_in_page_order(page: Page, live_server: str, path: str) -> None:
    page.goto(live_server + path)
    page.get_by_role("button").click()
    page.wait_for_load_state()
    linked, in_page_order = page.evaluate(
        """() => {
          const ids = [...document.querySelectorAll('main input, main select, main textarea')]
            .map(el => el.id);
          const linked = [...document.querySelectorAll('.error-summary a')]
            .map(a => a.hash.slice(1));
          return [linked, [...linked].sort((a, b) => ids.indexOf(a) - ids.indexOf(b))];
        }"""
    )
    assert len(linked) > 1
    assert linked == in_page_order


@pytest.mark.browser
@pytest.mark.parametrize(("path", "fill", "heading", "prefix"), FORMS)
def test_no_horizontal_scrolling_at_phone_width(
    visit: Callable[..., Visit],
    live_server: str,
    path: str,
    fill: Callable[[Page], None],
    heading: str,
    prefix: str,
) -> None:
    page = visit(viewport=PHONE).page
    page.goto(live_server + path)
    no_horizontal_scroll(page)
    no_small_controls(page)
    page.get_by_role("button").click()
    page.wait_for_load_state()
    assert page.locator(".error-summary").is_visible()
    no_horizontal_scroll(page)
    no_small_controls(page)
    screenshot(page, f"{path.strip('/')}-fejl-mobil")
    fill(page)
    page.get_by_role("button").click()
    check_receipt(page, heading, prefix)
    no_horizontal_scroll(page)
    screenshot(page, f"{path.strip('/')}-kvittering-mobil")


@pytest.mark.browser
def test_startup_help_works_without_javascript(
    visit: Callable[..., Visit], live_server: str, db: Session
) -> None:
    visitor = visit(java_script_enabled=False, viewport=PHONE)
    page = visitor.page
    page.goto(live_server + "/opstartshjaelp/")

    page.get_by_label("Boligorganisation", exact=True).click()
    page.keyboard.type("Boligforeningen Ærøhøj")
    page.get_by_label("Kommune", exact=True).select_option(label="Ærø")
    page.get_by_label("Efternavn").click()
    page.keyboard.type("Ågård")
    page.get_by_label("E-mail").click()
    page.keyboard.type("soeren@ærøhøj.dk")
    page.get_by_text("Forsyning og takster").click()  # the labels are the click targets
    page.get_by_text("Ved ikke").click()
    assert page.get_by_label("Forsyning og takster").is_checked()
    assert page.get_by_label("Ved ikke").is_checked()
    page.get_by_role("button", name="Send anmodning").click()

    check_receipt(page, "Tak for din anmodning om hjælp", "OH")
    submission = db.scalars(select(Submission)).one()
    assert (submission.organisation, submission.last_name) == ("Boligforeningen Ærøhøj", "Ågård")
    assert submission.topics == ["forsyning_takster"]
    assert submission.existing_cooperation == "unknown"
    assert visitor.third_party_requests() == []
