"""English beside Danish (issue 17): `?lang=`, its cookie, Accept-Language, `<html lang>`, the
link to the other language, forms and their errors, the error pages, the receipt page, and
each person's e-mails in their own language (caught over real SMTP)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from intake import create_app, held
from intake.delivery.worker import Worker
from intake.models import HeldPost, Submission
from intake.order_lifecycle import mark_cancelled, mark_shipped
from intake.privacy.anonymise import anonymise
from intake.web import error_pages
from tests.support.helpers import VALID_HELP, VALID_ORDER, hidden_fields, submit
from tests.support.settings import send_mail_to

REQUESTER = "aase.boegh@xn--snder-qra2k.dk"
PUBLIC_PAGES = ["/pjecer/", "/opstartshjaelp/", "/privatliv/"]
ENGLISH_DATE = re.compile(
    r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|October|"
    r"November|December) 20\d\d at \d\d:\d\d\b"
)


def html_lang(response: Any) -> str:
    found = re.search(r'<html lang="([a-z]+)">', response.get_data(as_text=True))
    assert found, "no <html lang>"
    return found.group(1)


def switch_link(response: Any) -> tuple[str, str, str, str]:
    """The link to the other language: (href, lang, hreflang, text)."""
    found = re.search(
        r'<p class="language-switch"><a href="([^"]+)" lang="([a-z]+)" hreflang="([a-z]+)">'
        r"([^<]+)</a></p>",
        response.get_data(as_text=True),
    )
    assert found, "no language link"
    return found.group(1), found.group(2), found.group(3), found.group(4)


def cookie_set(response: Any) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("intake_lang="):
            return header
    return None


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_danish_by_default_with_a_link_to_english(client, path):
    page = client.get(path)
    assert page.status_code == 200
    assert html_lang(page) == "da"
    assert page.headers["Content-Language"] == "da"
    assert switch_link(page) == (f"{path}?lang=en", "en", "en", "English")
    assert cookie_set(page) is None
    assert {"Accept-Language", "Cookie"} <= set(page.vary)


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_lang_en_chooses_english_keeps_it_in_a_cookie_and_lang_da_goes_back(client, path):
    english = client.get(f"{path}?lang=en")
    assert html_lang(english) == "en"
    assert switch_link(english) == (f"{path}?lang=da", "da", "da", "Dansk")
    cookie = cookie_set(english)
    assert cookie and cookie.startswith("intake_lang=en;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie

    # The cookie keeps English on every public page, without the parameter.
    for other in PUBLIC_PAGES:
        later = client.get(other)
        assert html_lang(later) == "en", other
        assert cookie_set(later) is None  # already kept

    danish = client.get(f"{path}?lang=da")
    assert html_lang(danish) == "da"
    assert cookie_set(danish).startswith("intake_lang=da;")
    assert html_lang(client.get("/pjecer/")) == "da"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("en-US", "en"),
        ("da, en;q=0.8", "da"),
        ("de-DE, fr;q=0.9", "da"),  # in doubt: Danish
        ("*", "da"),
        ("sv, en;q=0.5", "en"),
        ("", "da"),
    ],
)
def test_the_browsers_accept_language_decides_danish_when_in_doubt(client, accept, expected):
    page = client.get("/opstartshjaelp/", headers={"Accept-Language": accept})
    assert html_lang(page) == expected


def test_the_cookie_and_the_parameter_come_before_accept_language(client):
    english_browser = {"Accept-Language": "en-GB,en"}
    assert html_lang(client.get("/pjecer/?lang=da", headers=english_browser)) == "da"
    assert html_lang(client.get("/pjecer/", headers=english_browser)) == "da"  # the cookie
    assert html_lang(client.get("/pjecer/?lang=en")) == "en"


def test_static_files_are_the_same_in_every_language(client):
    css = client.get("/intake-static/intake.css?lang=en")
    assert cookie_set(css) is None and "Accept-Language" not in css.vary
    css.close()


def test_the_back_offices_error_pages_offer_no_other_language(build_app):
    client = build_app(INTAKE_MAX_BODY_BYTES=2_000).test_client()
    client.set_cookie("intake_lang", "en")
    refused = client.post("/admin/login", data={"email": "x" * 5_000})
    assert refused.status_code == 413 and html_lang(refused) == "da"
    assert "language-switch" not in refused.text


def test_the_link_to_the_other_language_stays_on_this_site(client):
    page = client.get("/", environ_overrides={"PATH_INFO": "//elsewhere.example/x y"})
    assert page.status_code == 404
    assert switch_link(page)[0] == "/elsewhere.example/x%20y?lang=en"
    assert switch_link(client.get("/pjecer/?lang=en&utm=x"))[0] == "/pjecer/?lang=da"


def test_an_unknown_language_is_ignored(client):
    page = client.get("/pjecer/?lang=fr", headers={"Accept-Language": "fr"})
    assert html_lang(page) == "da"
    assert cookie_set(page) is None


def test_the_back_office_stays_danish_whatever_is_chosen(client):
    client.get("/pjecer/?lang=en")  # the cookie says English
    login = client.get("/admin/login?lang=en", headers={"Accept-Language": "en"})
    assert html_lang(login) == "da"
    assert cookie_set(login) is None
    assert "Log ind" in login.get_data(as_text=True)


def test_the_forms_labels_hints_and_errors_in_english(client, db):
    client.get("/pjecer/?lang=en")
    page = client.get("/pjecer/")
    html = page.get_data(as_text=True)
    assert "<title>Order pamphlets – BL</title>" in html
    for text in (
        "<h1>Order pamphlets</h1>",
        '"Kommunesamarbejde – Hvorfor og hvordan?" (municipal cooperation – why and how?)',
        "The pamphlets are in Danish.",
        '<label for="organisation">Housing organisation</label>',
        '<label for="postcode">Postcode</label>',
        "Up to 50 copies.",
        "A Danish number: 8 digits, for example 33 76 20 40.",
        '<option value="">Choose a municipality</option>',
        ">København<",  # municipalities keep their names
        ">Send order</button>",
        "district consultant (kredskonsulent)",
        "Read how BL handles your personal data (opens in a new tab)",
    ):
        assert text in html, text
    assert "Bestil pjecer" not in html and "Boligorganisation<" not in html

    form = hidden_fields(html)
    data = {
        **form,
        **VALID_ORDER,
        "last_name": "",
        "email": "forkert",
        "quantity-kommunesamarbejde": "500",
        "city": "Aalborg",
        "role": "x" * 200,
    }
    answer = client.post("/pjecer/", data=data)
    assert answer.status_code == 200
    errors = answer.get_data(as_text=True)
    for text in (
        "<title>Error: Order pamphlets – BL</title>",
        "There is a problem",
        "You can order from 0 to 50 copies.",
        "Enter your last name.",
        "Enter a valid email address, for example name@housingorganisation.dk.",
        "Enter no more than 128 characters.",
        "Postcode 5970 belongs to Ærøskøbing. Correct the town or the postcode.",
        '<span class="visually-hidden">Error:</span>',
    ):
        assert text in errors, text
    assert db.scalars(select(Submission)).first() is None  # nothing stored

    # The same post in Danish still says it in Danish.
    client.get("/pjecer/?lang=da")
    danish = client.post("/pjecer/", data={**data, **hidden_fields(client.get("/pjecer/").text)})
    assert "Skriv dit efternavn." in danish.get_data(as_text=True)
    assert "Skriv højst 128 tegn." in danish.get_data(as_text=True)


def test_the_start_up_form_in_english(client):
    page = client.get("/opstartshjaelp/?lang=en").get_data(as_text=True)
    for text in (
        "<h1>Get help starting a municipal cooperation</h1>",
        "district consultants (kredskonsulenter)",
        "municipal cooperation (kommunesamarbejde)",
        "<legend>What would you like help with?</legend>",
        "Governance dialogue with the municipality (styringsdialog)",
        "No, not yet",
        ">Send request</button>",
    ):
        assert text in page, text
    answer = client.post("/opstartshjaelp/", data=hidden_fields(page))
    html = answer.get_data(as_text=True)
    assert "Choose at least one topic." in html and "Choose one of the answers." in html


def test_a_blank_form_kept_for_one_language_is_never_shown_in_the_other(client):
    for _ in range(2):
        assert "<h1>Bestil pjecer</h1>" in client.get("/pjecer/?lang=da").text
        assert "<h1>Order pamphlets</h1>" in client.get("/pjecer/?lang=en").text


def test_an_english_request_is_stored_as_english_with_an_english_receipt(client, db):
    client.get("/opstartshjaelp/?lang=en")
    answer = submit(client, "/opstartshjaelp/", VALID_HELP)
    assert answer.status_code == 303
    submission = db.scalars(select(Submission)).one()
    assert submission.language == "en"

    receipt = client.get(answer.headers["Location"])
    html = receipt.get_data(as_text=True)
    assert html_lang(receipt) == "en"
    for text in (
        f"<title>Receipt {submission.reference} – BL</title>",
        "Thank you for your request for help",
        "Your reference number is",
        "BL's district consultant (kredskonsulent) for Ærø Kommune will contact you within 3 "
        "working days:",
        "Governance dialogue with the municipality (styringsdialog)",
        "Utilities and charges",
        "<dt>Municipal cooperation today</dt>",
        "<dd>No, not yet</dd>",
    ):
        assert text in html, text

    # A Danish visitor's request is Danish.
    client.get("/pjecer/?lang=da")
    submit(client, "/pjecer/", VALID_ORDER)
    danish = db.scalars(select(Submission).order_by(Submission.id.desc())).first()
    assert danish.language == "da"


def english(client: Any) -> Any:
    """The client with the cookie a visitor gets who chose English."""
    client.set_cookie("intake_lang", "en")
    return client


def test_error_pages_in_english(build_app, client, db, monkeypatch):
    english(client)
    missing = client.get("/findes-ikke")
    assert missing.status_code == 404 and html_lang(missing) == "en"
    assert "<h1>Page not found</h1>" in missing.text
    assert client.get("/kvittering/forkert?lang=en").status_code == 404

    # 410: a receipt whose personal data is deleted.
    location = submit(client, "/opstartshjaelp/", VALID_HELP).headers["Location"]
    anonymise(db, db.scalars(select(Submission)).one(), "Til testen.")
    db.commit()
    gone = client.get(location)
    assert gone.status_code == 410 and html_lang(gone) == "en"
    assert "<h1>The details have been deleted</h1>" in gone.text

    # 413: too large a post.
    small = build_app(INTAKE_MAX_BODY_BYTES=2_000).test_client()
    large = small.post("/opstartshjaelp/?lang=en", data={"message": "x" * 5_000})
    assert large.status_code == 413 and html_lang(large) == "en"
    assert "What you sent is too large" in large.text

    # 429: too many posts.
    limited = build_app(INTAKE_FORM_RATE_LIMIT="1 per minute").test_client()
    limited.post("/opstartshjaelp/")
    refused = english(limited).post("/opstartshjaelp/")
    assert refused.status_code == 429 and html_lang(refused) == "en"
    assert "<h1>Too many requests</h1>" in refused.text

    # 500: a fault.
    faulty = build_app(PROPAGATE_EXCEPTIONS=False)

    def broken(token: str) -> None:
        raise RuntimeError("intern fejl")

    monkeypatch.setattr("intake.public.pages.public_id_from_receipt_token", broken)
    fault = english(faulty.test_client()).get("/kvittering/noget")
    assert fault.status_code == 500 and html_lang(fault) == "en"
    assert "<h1>Something went wrong</h1>" in fault.text

    # 400: a post without its security key.
    no_key = client.post("/opstartshjaelp/", data=VALID_HELP)
    assert no_key.status_code == 400
    assert "It was not sent, because its security key was missing or had expired." in no_key.text


def test_the_503_pages_in_english(config, track_app):
    offline = track_app(
        create_app(
            {
                **config,
                "INTAKE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"
                "?connect_timeout=2",
            }
        )
    )
    client = offline.test_client()
    page = client.get("/pjecer/?lang=en")
    assert page.status_code == 503 and html_lang(page) == "en"
    assert "<h1>The page cannot be shown at the moment</h1>" in page.text
    posted = english(offline.test_client()).post("/pjecer/", data={})
    assert posted.status_code == 503
    assert "<h1>We cannot save your request at the moment</h1>" in posted.text


def test_every_error_page_text_has_its_english(app):
    with app.test_request_context("/pjecer/?lang=en"):
        for name in ("TOO_LARGE", "TOO_MANY", "SERVER_ERROR", "UNAVAILABLE", "UNAVAILABLE_PAGE"):
            title, paragraphs = getattr(error_pages, name)
            html = error_pages.render_error((title, paragraphs))
            assert '<html lang="en">' in html
            assert all(str(p) in html and "ø" not in str(p) for p in paragraphs), name


# --- each person in their language, over real SMTP -------------------------------------------


@pytest.fixture
def mailing(config, smtp):
    return send_mail_to(config, smtp)


def test_the_english_receipt_and_the_danish_consultant_e_mail_for_one_request(
    build_app, mailing, smtp, db
):
    app = build_app(**mailing)
    client = app.test_client()
    client.get("/pjecer/?lang=en")
    assert submit(client, "/pjecer/", VALID_ORDER).status_code == 303
    assert Worker(app).run_once() == 3
    order = db.scalars(select(Submission)).one()

    receipt = smtp.to(REQUESTER)[0]
    assert receipt.message["Subject"] == f"Receipt {order.reference}: your pamphlet order"
    text = receipt.body("plain")
    assert text.startswith("Dear Åse\n")
    for line in (
        f"Thank you for your pamphlet order. We have received it with reference number "
        f"{order.reference}.",
        "What you ordered:\n      25 ×  Kommunesamarbejde – Hvorfor og hvordan?",
        "What happens next?\nBL's pamphlet office packs the pamphlets and sends them by post. "
        "This normally happens within 5 working days.",
        "Bjarne Werth\nbwj@bl.dk\nPhone 33 76 20 49",
        "BL's district consultant (kredskonsulent) for Ærø Kommune is also told about the order",
        "Kind regards\nBL – Danmarks Almene Boliger",
    ):
        assert line in text, line
    assert re.search(r"https://intake\.bl\.dk/kvittering/\S+\?lang=en\n", text)
    html = receipt.body("html")
    assert '<html lang="en">' in html and "<li>25 × Kommunesamarbejde" in html
    assert "pjeceekspedition" not in text + html and "Kære" not in text

    consultant = smtp.to("jbh@bl.dk")[0]
    danish = consultant.body("plain")
    assert consultant.message["Subject"].startswith("Pjecebestilling ")
    assert "Boligselskabet Sønderå Ærø i Ærø Kommune har bestilt pjecer" in danish
    language = "Sprog:     engelsk (brugte formularen på engelsk og får sine e-mails på engelsk)"
    assert language in danish, danish
    assert '<th style="text-align: left; padding-right: 1em;">Sprog</th><td>engelsk' in (
        consultant.body("html")
    )
    assert '<html lang="da">' in consultant.body("html")
    office = smtp.to("bwj@bl.dk")[0].body("plain")
    assert "PAKKESEDDEL" in office and "Sprog:   engelsk" in office


def test_the_consultant_is_not_told_a_language_for_a_danish_request(build_app, mailing, smtp):
    app = build_app(**mailing)
    client = app.test_client()
    assert submit(client, "/opstartshjaelp/", VALID_HELP).status_code == 303
    Worker(app).run_once()
    assert "Sprog" not in smtp.to("jbh@bl.dk")[0].body("plain")
    assert smtp.to(REQUESTER)[0].body("plain").startswith("Kære Åse\n")


def test_the_english_start_up_receipt(build_app, mailing, smtp):
    app = build_app(**mailing)
    client = app.test_client()
    client.get("/opstartshjaelp/?lang=en")
    submit(client, "/opstartshjaelp/", VALID_HELP)
    Worker(app).run_once()
    receipt = smtp.to(REQUESTER)[0]
    assert "your request for help with a municipal cooperation" in receipt.message["Subject"]
    text = receipt.body("plain")
    for line in (
        "Topics:\n  - Utilities and charges\n"
        "  - Governance dialogue with the municipality (styringsdialog)\n",
        "Municipal cooperation today: No, not yet",
        "Other housing organisations that would like to take part:\nÆrøskøbing Boligforening",
        "Your reply goes straight to Jens B. Hansen.",
    ):
        assert line in text, line
    assert "Sprog:     engelsk" in smtp.to("jbh@bl.dk")[0].body("plain")


def test_shipped_and_cancelled_e_mails_go_out_in_the_orderers_language(
    build_app, mailing, smtp, db
):
    app = build_app(**mailing)
    client = app.test_client()
    client.get("/pjecer/?lang=en")
    submit(client, "/pjecer/", VALID_ORDER)
    submit(client, "/pjecer/", VALID_ORDER)
    Worker(app).run_once()
    shipped, cancelled = db.scalars(select(Submission).order_by(Submission.id)).all()
    mark_shipped(db, shipped, "test", note="Left by the door", parcel="00370712345678901234")
    mark_cancelled(db, cancelled, "test", "Udsolgt.")
    smtp.messages.clear()
    assert Worker(app).run_once() == 2

    on_its_way = next(m for m in smtp.messages if shipped.reference in m.message["Subject"])
    assert on_its_way.message["Subject"] == (
        f"Your pamphlets are on their way ({shipped.reference})"
    )
    text = on_its_way.body("plain")
    assert ENGLISH_DATE.search(text), text  # "sent your order … on 4 December 2026 at 18:35"
    assert "Parcel number: 00370712345678901234" in text
    assert "A message from BL's pamphlet office:\nLeft by the door" in text

    off = next(m for m in smtp.messages if cancelled.reference in m.message["Subject"])
    assert off.message["Subject"] == f"Your order {cancelled.reference} has been cancelled"
    assert "Reason:\nUdsolgt." in off.body("plain")  # the office's own words, as written

    # The receipt page of the shipped order, in English, dates as "4 December 2026".
    page = client.get(
        re.search(r"https://intake\.bl\.dk(/kvittering/\S+)", text).group(1)  # ?lang=en
    ).get_data(as_text=True)
    assert "<strong>Sent</strong>" in page and ENGLISH_DATE.search(page)


def test_a_held_english_post_keeps_its_language_when_released(app, client, db):
    client.get("/opstartshjaelp/?lang=en")
    held_page = submit(client, "/opstartshjaelp/", VALID_HELP, website="x")
    assert "<h1>We are checking your request</h1>" in held_page.text
    post = db.scalars(select(HeldPost)).one()
    released = held.to_submission(post, app.extensions["intake"].routing)
    assert released.language == "en"
