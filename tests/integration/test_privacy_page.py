"""The privacy page: linked from the notice under both forms' send button and from the footer,
in Danish, with the legal basis (no consent asked for), the retention periods and the contact
from the settings; and the settings it uses checked at start."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from intake.privacy.notice import retention_phrase


class _Links(HTMLParser):
    """The links in the notice under the send button and inside the <footer>."""

    def __init__(self) -> None:
        super().__init__()
        self.in_notice = self.in_footer = self.after_button = False
        self.notice: list[dict[str, str | None]] = []
        self.footer: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "button" and attr.get("type") == "submit":
            self.after_button = True
        elif tag == "p" and attr.get("class") == "privacy-notice":
            assert self.after_button, "the notice is under the send button"
            self.in_notice = True
        elif tag == "footer":
            self.in_footer = True
        elif tag == "a" and self.in_notice:
            self.notice.append(attr)
        elif tag == "a" and self.in_footer:
            self.footer.append(attr)

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.in_notice = False
        elif tag == "footer":
            self.in_footer = False


def links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("form", ["/pjecer/", "/opstartshjaelp/"])
def test_both_forms_link_to_the_privacy_page_under_the_button_and_in_the_footer(client, form):
    html = client.get(form).get_data(as_text=True)
    page = links(html)
    (notice_link,) = page.notice
    assert notice_link["href"] == "/privatliv/"
    assert notice_link["target"] == "_blank"  # the half-filled form stays open
    assert "noopener" in (notice_link["rel"] or "")
    assert "/privatliv/" in [link["href"] for link in page.footer]
    assert "Når du sender" in html and "gemmer BL dine oplysninger" in html


def test_the_links_follow_the_url_prefix(build_app):
    client = build_app(INTAKE_URL_PREFIX="/bl").test_client()
    page = links(client.get("/bl/pjecer/").get_data(as_text=True))
    assert page.notice[0]["href"] == "/bl/privatliv/"
    assert client.get("/bl/privatliv/").status_code == 200


def test_the_page_says_what_why_who_how_long_and_whom_to_ask(client):
    response = client.get("/privatliv/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    html = response.get_data(as_text=True)
    assert "<title>Sådan behandler BL dine oplysninger – BL</title>" in html
    for words in (
        "dit navn, din e-mailadresse og dit telefonnummer",  # what
        "leveringsadressen",
        "for at kredskonsulenten for din kommune kan kontakte dig",  # why
        "BL's pjeceekspedition",  # who receives it
        "Salesforce, som er BL's kundesystem",
        "gemmer vi dine oplysninger i 2 år",  # how long: the default 730 days
        "I Salesforce gemmer BL din henvendelse efter BL's regler for kundesystemet",
        "(indsigt)",  # the rights
        "(berigtigelse)",
        "(sletning)",
        "klage til Datatilsynet",
        'href="mailto:info@bl.dk"',  # whom to contact
        # The legal basis: the person's own request, or BL's legitimate interest; no consent.
        "fordi du selv beder os om noget",
        "artikel 6, stk. 1, litra b",
        "artikel 6, stk. 1, litra f",
        "Du skal ikke give samtykke for at sende en formular.",
        "at gøre indsigelse mod behandlingen",
        # Held posts (likely spam): how long.
        "sletter vi den senest 30 dage efter, at du sendte den",
    ):
        assert words in " ".join(html.split()), words  # as read: line breaks are spaces
    assert "litra a" not in html  # consent is not the basis
    assert "trække dit samtykke tilbage" not in html


def test_retention_and_contact_come_from_the_settings(build_app):
    client = build_app(
        INTAKE_RETENTION_DAYS=90,
        INTAKE_HELD_DAYS=14,
        INTAKE_PRIVACY_CONTACT_EMAIL="persondata@bl.dk",
    ).test_client()
    html = client.get("/privatliv/").get_data(as_text=True)
    assert "gemmer vi dine oplysninger i 90 dage" in html
    assert "sletter vi den senest 14 dage efter" in " ".join(html.split())
    assert 'href="mailto:persondata@bl.dk"' in html
    assert "2 år" not in html


@pytest.mark.parametrize(
    ("days", "phrase"),
    [
        (730, "2 år"),
        (365, "1 år"),
        (1095, "3 år"),
        (90, "90 dage"),
        (1, "1 dag"),
        (400, "400 dage"),
    ],
)
def test_the_retention_is_phrased_naturally(days, phrase):
    assert retention_phrase(days) == phrase


def test_the_retention_can_come_from_the_environment(build_app, monkeypatch):
    monkeypatch.setenv("INTAKE_RETENTION_DAYS", "365")
    app = build_app()
    assert app.config["INTAKE_RETENTION_DAYS"] == 365
    assert "i 1 år" in app.test_client().get("/privatliv/").get_data(as_text=True)


@pytest.mark.parametrize("bad", ["to år", "0", -30, 0, 1.5, "", True])
@pytest.mark.parametrize(
    "key", ["INTAKE_RETENTION_DAYS", "INTAKE_HELD_DAYS", "INTAKE_PAMPHLET_SHIPPING_DAYS"]
)
def test_a_bad_number_of_days_stops_the_start_with_a_clear_message(build_app, key, bad):
    with pytest.raises(RuntimeError, match=rf"{key} .* whole number of days"):
        build_app(**{key: bad})


@pytest.mark.parametrize("bad", ["https://tracking.postnord.com/dk/", "tracking.example/{parcel}"])
def test_a_tracking_url_without_the_parcel_or_a_web_address_stops_the_start(build_app, bad):
    with pytest.raises(RuntimeError, match=r"INTAKE_TRACKING_URL .*\{parcel\}"):
        build_app(INTAKE_TRACKING_URL=bad)
