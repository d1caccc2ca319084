"""The overview page: requests per week and per kreds, coverage of BL's aim, the routing table;
and the small SVG bar chart it draws with."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import event, select, update

from intake.backoffice.charts import Series, bar_chart_svg, layout, nice_scale
from intake.backoffice.coverage import Stage
from intake.backoffice.coverage_map import STAGE_COLOURS
from intake.models import OrderStatus, Submission
from intake.reference_data import municipalities as reference_municipalities
from intake.timefmt import DANISH_TIME
from tests.support.helpers import VALID_HELP, VALID_ORDER, submit

SVG = "{http://www.w3.org/2000/svg}"


def parse_svg(svg: str) -> ET.Element:
    """Our own chart, parsed as XML (which also proves it is well-formed)."""
    return ET.fromstring(svg)  # noqa: S314 - the app's own output, not untrusted data


# --- the chart, a pure function ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("largest", "scale"),
    [
        (0, (1, 1)),
        (1, (1, 1)),
        (3, (3, 1)),
        (5, (5, 1)),
        (6, (6, 2)),
        (7, (8, 2)),
        (12, (15, 5)),
        (48, (50, 10)),
        (100, (100, 20)),
        (101, (150, 50)),
        (2500, (2500, 500)),
        (2501, (3000, 1000)),
    ],
)
def test_the_scale_has_round_steps(largest, scale):
    assert nice_scale(largest) == scale


def _bars(svg: str) -> list[tuple[str, float, float]]:
    """(the bar's own title, its height, its y) for every bar, in drawing order."""
    root = parse_svg(svg)
    return [
        (rect.find(f"{SVG}title").text or "", float(rect.get("height")), float(rect.get("y")))
        for rect in root.iter(f"{SVG}rect")
        if rect.find(f"{SVG}title") is not None
    ]


@pytest.mark.parametrize(
    ("labels", "orders", "startup", "heights"),
    [
        # top of the scale 4: 160 px for 4, 80 for 2, 40 for 1
        (["uge 1", "uge 2"], [0, 4], [2, 1], [0, 80, 160, 40]),
        # nothing at all: flat bars on the base line, no division by zero
        (["uge 52", "uge 1"], [0, 0], [0, 0], [0, 0, 0, 0]),
        # top 8 (step 2) for a largest value of 7
        (["1. kreds"], [7], [2], [140, 40]),
        # no groups: an empty but valid chart
        ([], [], [], []),
    ],
)
def test_bars_are_drawn_to_scale(labels, orders, startup, heights):
    svg = bar_chart_svg(
        ident="t",
        title="Henvendelser",
        description="Søjler",
        labels=labels,
        series=[
            Series("Pjecebestillinger", orders, "#1d70b8"),
            Series("Opstartshjælp", startup, "#d4351c"),
        ],
    )
    bars = _bars(svg)
    assert [height for _, height, _ in bars] == heights
    assert all(y + height == 200 for _, height, y in bars)  # all stand on the base line
    expected_titles = [
        f"{label}, {name}: {values[i]}"
        for i, label in enumerate(labels)
        for name, values in (("Pjecebestillinger", orders), ("Opstartshjælp", startup))
    ]
    assert [title for title, _, _ in bars] == expected_titles


def test_the_chart_is_an_accessible_image_with_escaped_text():
    svg = bar_chart_svg(
        ident="uger",
        title="Ærø & Læsø <uge 47>",
        description='Høje-Taastrup "i alt"',
        labels=["Ærø & co"],
        series=[Series("Bestilt <pjecer>", [3], "#1d70b8")],
    )
    root = parse_svg(svg)  # well-formed XML: everything was escaped
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "uger-title uger-desc"
    title, desc = root[0], root[1]
    assert (title.tag, title.get("id"), title.text) == (
        f"{SVG}title",
        "uger-title",
        "Ærø & Læsø <uge 47>",
    )
    assert (desc.tag, desc.get("id"), desc.text) == (
        f"{SVG}desc",
        "uger-desc",
        'Høje-Taastrup "i alt"',
    )
    assert "<script" not in svg
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Bestilt <pjecer>" in texts and "Ærø & co" in texts and "3" in texts


@pytest.mark.parametrize(
    ("labels", "series", "message"),
    [
        (["a", "b"], [Series("x", [1], "#000")], "has 1 values for 2 labels"),
        (["a"], [Series("x", [-1], "#000")], "negative"),
        (["a"], [], "at least one series"),
    ],
)
def test_a_chart_refuses_numbers_that_do_not_fit(labels, series, message):
    with pytest.raises(ValueError, match=message):
        bar_chart_svg(ident="x", title="t", description="d", labels=labels, series=series)


def test_many_weeks_label_only_some_groups():
    labels = [f"uge {n}" for n in range(1, 53)]
    svg = bar_chart_svg(
        ident="x",
        title="t",
        description="d",
        labels=labels,
        series=[Series("a", [1] * 52, "#000")],
    )
    texts = {t.text for t in parse_svg(svg).iter(f"{SVG}text")}
    assert {"uge 1", "uge 5", "uge 49"} <= texts
    assert not {"uge 2", "uge 3", "uge 4", "uge 52"} & texts


@pytest.mark.parametrize(
    ("groups", "longest_label", "group_width", "label_every"),
    [
        (12, len("uge 47"), 45, 1),  # 12 weeks: room for every label
        (11, len("10. kreds"), 64.5, 1),  # the kredse: groups widened for their labels
        (26, len("uge 47"), 760 / 26, 2),  # narrower groups, every other one labelled
        (52, len("uge 47"), 760 / 52, 4),
        (1, 0, 44, 1),
    ],
)
def test_groups_narrow_and_labels_thin_out_as_weeks_are_added(
    groups, longest_label, group_width, label_every
):
    shape = layout(groups, 2, longest_label)
    assert shape.group_width == pytest.approx(group_width)
    assert shape.label_every == label_every
    assert shape.bars_width < shape.group_width


# --- the page ---------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Each <table id=...>: its rows, each a list of cell texts (th and td alike)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


class _Folded(HTMLParser):
    """The ids of the elements that sit inside a (closed) <details>."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.inside: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details":
            assert "open" not in dict(attrs)
            self.depth += 1
        ident = dict(attrs).get("id")
        if self.depth and ident:
            self.inside.add(ident)

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self.depth -= 1


def folded(html: str, ident: str) -> bool:
    """Whether the element with this id is folded away behind a disclosure."""
    parser = _Folded()
    parser.feed(html)
    return ident in parser.inside


def the_map(html: str) -> ET.Element:
    """The overview's map, parsed as XML (so it is well-formed SVG)."""
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="coverage-map"')
    return parse_svg(html[start : html.index("</svg>", start) + len("</svg>")])


def shapes(svg: ET.Element) -> dict[str, tuple[str, str, str]]:
    """Each municipality's shape: kommunekode → (its title, its fill, its link)."""
    found = {}
    for link in svg.iter(f"{SVG}a"):
        paths = link.findall(f"{SVG}path")
        assert len(paths) == 1
        found[link.get("data-kode")] = (
            link.find(f"{SVG}title").text,
            paths[0].get("fill"),
            link.get("href"),
        )
    return found


def this_monday() -> date:
    today = datetime.now(DANISH_TIME).date()
    return today - timedelta(days=today.weekday())


def in_week(weeks_back: int) -> datetime:
    """Wednesday noon, Danish time, `weeks_back` weeks before this one."""
    wednesday = this_monday() - timedelta(weeks=weeks_back) + timedelta(days=2)
    return datetime.combine(wednesday, time(12), tzinfo=DANISH_TIME)


def week_label(weeks_back: int) -> str:
    return f"uge {(this_monday() - timedelta(weeks=weeks_back)).isocalendar().week}"


def send(client: Any, db: Any, kind: str, municipality: str, weeks_back: int, **changes: Any):
    """Send a request through the public form, then move it back in time (and change it)."""
    if kind == "order":
        assert submit(client, "/pjecer/", VALID_ORDER, municipality=municipality).status_code == 303
    else:
        form = {**VALID_HELP, "existing_cooperation": changes.pop("cooperation")}
        assert (
            submit(client, "/opstartshjaelp/", form, municipality=municipality).status_code == 303
        )
    newest = db.scalar(select(Submission.id).order_by(Submission.id.desc()).limit(1))
    db.execute(
        update(Submission)
        .where(Submission.id == newest)
        .values(created_at=in_week(weeks_back), **changes)
    )
    db.commit()


@pytest.fixture
def requests(client, db):
    """Requests from five municipalities in four kredse, spread over weeks.

    Ærø (492, kreds 3): start-up help saying a cooperation exists (this week), an order (1 back)
    Høje-Taastrup (169, kreds 9): start-up help (2 and 1 back), an order (this week)
    Læsø (825, kreds 8): an order (3 back)
    København (101, kreds 1): an order, cancelled (this week)
    Aarhus (751, kreds 5): an order 20 weeks back, outside the default 12 weeks
    """
    send(client, db, "help", "492", 0, cooperation="yes")
    send(client, db, "order", "492", 1)
    send(client, db, "help", "169", 2, cooperation="no")
    send(client, db, "help", "169", 1, cooperation="unknown")
    send(client, db, "order", "169", 0)
    send(client, db, "order", "825", 3)
    send(client, db, "order", "101", 0, order_status=OrderStatus.CANCELLED)
    send(client, db, "order", "751", 20)


def test_requests_per_week(office, requests):
    page = office.get("/admin/overview")
    assert page.status_code == 200
    rows = tables(page.get_data(as_text=True))["tabel-uger"]
    body = rows[1:-1]
    assert len(body) == 12
    by_week = {row[0]: row[2:] for row in body}
    assert [row[0] for row in body] == [week_label(back) for back in range(11, -1, -1)]
    assert by_week[week_label(0)] == ["2", "1", "3"]  # the cancelled order came in, too
    assert by_week[week_label(1)] == ["1", "1", "2"]
    assert by_week[week_label(2)] == ["0", "1", "1"]
    assert by_week[week_label(3)] == ["1", "0", "1"]
    assert by_week[week_label(4)] == ["0", "0", "0"]
    assert rows[-1] == ["I alt", "4", "3", "7"]  # Aarhus, 20 weeks back, is not counted


def test_requests_per_kreds(office, requests):
    html = office.get("/admin/overview").get_data(as_text=True)
    rows = tables(html)["tabel-kredse"]
    by_kreds = {row[0]: row[1:] for row in rows[1:-1]}
    assert list(by_kreds) == [f"{k}. kreds" for k in range(1, 12)]  # every kreds, idle too
    assert by_kreds["1. kreds"] == ["Tage Jensen", "1", "0", "1"]
    assert by_kreds["3. kreds"] == ["Jens B. Hansen", "1", "1", "2"]
    assert by_kreds["5. kreds"] == ["Niels Sørensen", "0", "0", "0"]
    assert by_kreds["8. kreds"] == ["Søren Madsen", "1", "0", "1"]
    assert by_kreds["9. kreds"] == ["John Frese", "1", "2", "3"]
    assert rows[-1] == ["I alt", "4", "3", "7"]


def test_more_weeks_on_request(office, requests):
    html = office.get("/admin/overview?weeks=26").get_data(as_text=True)
    found = tables(html)
    assert len(found["tabel-uger"]) == 26 + 2
    assert found["tabel-uger"][-1] == ["I alt", "5", "3", "8"]
    kredse = {row[0]: row[1:] for row in found["tabel-kredse"]}
    assert kredse["5. kreds"] == ["Niels Sørensen", "1", "0", "1"]


@pytest.mark.parametrize(("asked", "shown"), [("abc", 12), ("0", 1), ("-3", 1), ("1000", 104)])
def test_the_number_of_weeks_is_kept_sensible(office, asked, shown):
    html = office.get(f"/admin/overview?weeks={asked}").get_data(as_text=True)
    assert len(tables(html)["tabel-uger"]) == shown + 2


def test_coverage_takes_the_strongest_signal(office, requests):
    html = office.get("/admin/overview").get_data(as_text=True)
    rows = tables(html)["tabel-daekning"]
    by_code = {row[0]: row[1:] for row in rows[1:]}
    assert len(by_code) == 98
    last_week = in_week(1).strftime("%d.%m.%Y")
    this_week = in_week(0).strftime("%d.%m.%Y")
    # cooperation beats the order from the same municipality
    assert by_code["492"] == ["Ærø", "3", "Har et kommunesamarbejde", this_week, "1"]
    # start-up help beats an order; the date is that of the latest start-up request
    assert by_code["169"] == ["Høje-Taastrup", "9", "Har bedt om opstartshjælp", last_week, "1"]
    assert by_code["825"] == ["Læsø", "8", "Har bestilt pjecer", "", "1"]
    # every request counts, however old
    assert by_code["751"] == ["Aarhus", "5", "Har bestilt pjecer", "", "1"]
    # a cancelled order does not count
    assert by_code["101"] == ["København", "1", "Har ikke henvendt sig endnu", "", "0"]
    assert {
        row[2] for code, row in by_code.items() if code not in {"492", "169", "825", "751"}
    } == {"Har ikke henvendt sig endnu"}


def test_coverage_is_counted_per_kreds(office, requests):
    html = office.get("/admin/overview").get_data(as_text=True)
    rows = tables(html)["tabel-daekning-kredse"]
    assert rows[0] == [
        "Kreds",
        "Har et kommunesamarbejde",
        "Er i kontakt med en konsulent",
        "Har bedt om opstartshjælp",
        "Har bestilt pjecer",
        "Har ikke henvendt sig endnu",
        "Kommuner",
    ]
    by_kreds = {row[0]: row[1:] for row in rows[1:-1]}
    assert by_kreds["1. kreds"] == ["0", "0", "0", "0", "1", "1"]
    assert by_kreds["3. kreds"] == ["1", "0", "0", "0", "9", "10"]
    assert by_kreds["5. kreds"] == ["0", "0", "0", "1", "0", "1"]
    assert by_kreds["8. kreds"] == ["0", "0", "0", "1", "10", "11"]
    assert by_kreds["9. kreds"] == ["0", "0", "1", "0", "16", "17"]
    assert by_kreds["2. kreds"] == ["0", "0", "0", "0", "10", "10"]
    assert rows[-1] == ["I alt", "1", "0", "1", "2", "94", "98"]


def test_coverage_is_counted_by_the_database(app, office, requests):
    """One GROUP BY per question, never every submission loaded."""
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        if "intake_submissions" in statement:
            statements.append(statement)

    engine = app.extensions["intake"].database.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert office.get("/admin/overview").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    grouped = [statement for statement in statements if "GROUP BY" in statement]
    assert len(grouped) == 3  # per week, per kreds, per municipality
    assert any("GROUP BY intake_submissions.municipality_code" in s for s in grouped)
    # No statement fetches whole submissions (they would bring the e-mail column along).
    assert not [s for s in statements if "intake_submissions.email" in s]


def test_the_routing_table(office):
    html = office.get("/admin/overview").get_data(as_text=True)
    rows = tables(html)["tabel-routing"]
    assert rows[0] == ["Kode", "Kommune", "Kreds", "Konsulent", "Sikkerhed", "Kilde"]
    by_code = {row[0]: row[1:] for row in rows[1:]}
    assert len(by_code) == 98
    assert by_code["101"][:4] == ["København", "1", "Tage Jensen, taj@bl.dk", "bekræftet"]
    assert by_code["169"][:4] == ["Høje-Taastrup", "9", "John Frese, jf@bl.dk", "udledt"]
    assert by_code["492"][:4] == ["Ærø", "3", "Jens B. Hansen, jbh@bl.dk", "udledt"]
    assert by_code["751"][:4] == ["Aarhus", "5", "Niels Sørensen, ns@bl.dk", "sandsynlig"]
    assert by_code["825"][:4] == ["Læsø", "8", "Søren Madsen, sma@bl.dk", "gæt"]
    assert by_code["825"][4] == "Region Nordjylland"
    # The notes are in Danish, as the rest of the page.
    assert by_code["492"][4] == (
        "3. kreds dækker de 10 fynske kommuner (fabbo.dk 2024); hvilke 10 er udledt"
    )
    assert by_code["621"][4] == "Den jyske del af Region Syddanmark"
    assert not [row for row in by_code.values() if re.search(r"\b(the|and|covers)\b", row[4])]
    assert {row[3] for row in by_code.values()} == {"bekræftet", "udledt", "sandsynlig", "gæt"}
    assert '<a href="mailto:jf@bl.dk">jf@bl.dk</a>' in html
    # Folded away, and not shouted: the 98 rows sit behind a disclosure.
    assert "97 af 98 kommuner har en kreds, som BL endnu ikke har bekræftet" in html
    assert "<strong>97 af 98" not in html
    assert folded(html, "tabel-routing")


def test_the_charts_are_accessible_svg(office, requests):
    html = office.get("/admin/overview").get_data(as_text=True)
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 2
    assert '<title id="uger-title">Henvendelser pr. uge, ' in html
    assert '<title id="kredse-title">Henvendelser pr. kreds, ' in html
    assert 'aria-labelledby="uger-title uger-desc"' in html
    assert "<script" not in html
    start = html.index("<svg")
    parse_svg(html[start : html.index("</svg>", start) + len("</svg>")])
    assert f"<title>{week_label(0)}, Pjecebestillinger: 2</title>" in html
    assert "<title>9. kreds, Opstartshjælp: 2</title>" in html


def test_office_and_admin_see_the_overview(office, admin):
    for client in (office, admin):
        page = client.get("/admin/overview")
        assert page.status_code == 200
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        html = page.get_data(as_text=True)
        assert "<h1>Overblik</h1>" in html
        for name in ("Ærø", "Høje-Taastrup", "Læsø", "København", "Søren Madsen"):
            assert name in html
        assert 'aria-current="page">Overblik</a>' in html


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin/overview")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


# --- the director's first screen: headline, map, folded tables --------------------------------


def test_the_headline_gives_numbers_and_percentages(office, requests):
    html = office.get("/admin/overview").get_data(as_text=True)
    start = html.index('<ul class="headline"')
    headline = " ".join(re.sub(r"<[^>]+>", " ", html[start : html.index("</ul>", start)]).split())
    assert headline == (
        "1 af 98 kommuner har et kommunesamarbejde (1 %) "
        "0 er i kontakt med en konsulent (0 %) "
        "1 har bedt om opstartshjælp (1 %) "
        "2 har bestilt pjecer (2 %) "
        "94 har ikke henvendt sig endnu (96 %)"
    )
    # The headline comes first, before the charts and every table.
    assert start < html.index("coverage-map") < html.index('id="tabel-uger"')


def test_the_map_has_a_shape_per_municipality_named_and_coloured_by_its_stage(office, requests):
    html = office.get("/admin/overview").get_data(as_text=True)
    svg = the_map(html)
    found = shapes(svg)
    municipalities = reference_municipalities()
    assert len(found) == 98 and set(found) == set(municipalities)
    stage_of = {"492": Stage.COOPERATION, "169": Stage.STARTUP, "825": Stage.ORDERED}
    stage_of["751"] = Stage.ORDERED  # however old
    for code, (title, fill, href) in found.items():
        stage = stage_of.get(code, Stage.NOTHING)  # København's order was cancelled
        assert title == f"{municipalities[code]}: {stage.label}", code
        assert fill == STAGE_COLOURS[stage], code
        assert href == f"/admin/municipalities/{code}"
    assert found["101"][0] == "København: har ikke henvendt sig endnu"
    assert found["492"][0] == "Ærø: har et kommunesamarbejde"
    assert len({fill for _, fill, _ in found.values()}) == 4
    # Named as a whole, with the credit the data asks for beside it, and nothing but SVG.
    assert svg.find(f"{SVG}title").text.startswith("Danmarks 98 kommuner")
    assert "Kort: Styrelsen for Dataforsyning og Infrastruktur, DAGI" in html
    assert "<script" not in html and " style=" not in html


def test_without_any_request_every_municipality_is_grey(office):
    found = shapes(the_map(office.get("/admin/overview").get_data(as_text=True)))
    assert len(found) == 98
    assert {fill for _, fill, _ in found.values()} == {STAGE_COLOURS[Stage.NOTHING]}


def test_the_same_data_as_a_table_behind_a_disclosure(office, requests):
    html = office.get("/admin/overview").get_data(as_text=True)
    assert folded(html, "tabel-daekning") and folded(html, "tabel-routing")
    assert "<summary>Kortets data som tabel (98 kommuner)</summary>" in html
    map_titles = {code: title for code, (title, _, _) in shapes(the_map(html)).items()}
    rows = tables(html)["tabel-daekning"][1:]
    assert {row[0]: f"{row[1]}: {row[3]}".lower() for row in rows} == {
        code: title.lower() for code, title in map_titles.items()
    }


def test_a_municipality_links_to_its_requests(office, requests):
    html = office.get("/admin/municipalities/169").get_data(as_text=True)
    assert "<h1>Høje-Taastrup</h1>" in html
    assert "Har bedt om opstartshjælp" in html and "John Frese" in html
    rows = tables(html)["tabel-henvendelser"][1:]
    assert [row[2] for row in rows] == ["Pjecebestilling", "Opstartshjælp", "Opstartshjælp"]
    assert rows[1][4] == "Samarbejde i dag: ved ikke"
    assert rows[2][4] == "Samarbejde i dag: nej, ikke endnu"
    order = rows[0][0]
    assert f'<a href="/admin/orders/{order}">{order}</a>' in html
    assert "Der er ingen henvendelser fra Fanø endnu." in office.get(
        "/admin/municipalities/563"
    ).get_data(as_text=True)
    missing = office.get("/admin/municipalities/999")
    assert missing.status_code == 404
    assert "Der er ingen kommune med kommunekoden „999“." in missing.get_data(as_text=True)


def test_the_routing_command_is_shown_to_admins_only(office, admin):
    command = "flask --app wsgi intake routing check"
    assert command not in office.get("/admin/overview").get_data(as_text=True)
    assert command in admin.get("/admin/overview").get_data(as_text=True)
