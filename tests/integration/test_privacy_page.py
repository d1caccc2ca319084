"""The privacy page: linked from both forms' consent and footer, in Danish, with the retention
period and the contact from the settings; and INTAKE_RETENTION_DAYS checked at start."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from intake.privacy.notice import retention_phrase


class _Links(HTMLParser):
    """The links inside the consent's <label> and inside the <footer>."""

    def __init__(self) -> None:
        super().__init__()
        self.in_consent = self.in_footer = False
        self.consent: list[dict[str, str | None]] = []
        self.footer: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "label" and attr.get("for") == "consent":
            self.in_consent = True
        elif tag == "footer":
            self.in_footer = True
        elif tag == "a" and self.in_consent:
            self.consent.append(attr)
        elif tag == "a" and self.in_footer:
            self.footer.append(attr)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_consent = False
        elif tag == "footer":
            self.in_footer = False


def links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("form", ["/pjecer/", "/opstartshjaelp/"])
def test_both_forms_link_to_the_privacy_page_from_the_consent_and_the_footer(client, form):
    page = links(client.get(form).get_data(as_text=True))
    (consent_link,) = page.consent
    assert consent_link["href"] == "/privatliv/"
    assert consent_link["target"] == "_blank"  # the half-filled form stays open
    assert "noopener" in (consent_link["rel"] or "")
    assert "/privatliv/" in [link["href"] for link in page.footer]


def test_the_links_follow_the_url_prefix(build_app):
    client = build_app(INTAKE_URL_PREFIX="/bl").test_client()
    page = links(client.get("/bl/pjecer/").get_data(as_text=True))
    assert page.consent[0]["href"] == "/bl/privatliv/"
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
    ):
        assert words in html, words


def test_retention_and_contact_come_from_the_settings(build_app):
    client = build_app(
        INTAKE_RETENTION_DAYS=90, INTAKE_PRIVACY_CONTACT_EMAIL="persondata@bl.dk"
    ).test_client()
    html = client.get("/privatliv/").get_data(as_text=True)
    assert "gemmer vi dine oplysninger i 90 dage" in html
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
def test_a_bad_retention_stops_the_start_with_a_clear_message(build_app, bad):
    with pytest.raises(RuntimeError, match=r"INTAKE_RETENTION_DAYS .* whole number of days"):
        build_app(INTAKE_RETENTION_DAYS=bad)
