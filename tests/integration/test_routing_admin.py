"""The routing in the database, edited in the back office (admins only) and moved out and in
with `intake routing export/import`: every change checked, audit-logged with before and after,
in force for the next submission in another process's app at once; a bad change is refused
with a Danish message and changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from intake import create_app
from intake.models import AuditEvent, RoutingMunicipality, RoutingVersion, Submission
from intake.paths import DATA_DIR
from tests.support.helpers import VALID_ORDER, form_fields, hidden_fields, submit

AEROE = "/admin/routing/492"  # Ærø: kreds 3 (Jens B. Hansen) in the shipped routing


def page_fields(client: Any, path: str) -> dict[str, str]:
    return form_fields(client.get(path).get_data(as_text=True))


def routing_state(db: Any) -> tuple[int, list[tuple[str, int, str, str]]]:
    """The version and every municipality's entry, to show that nothing changed."""
    db.expire_all()
    version = db.scalar(select(RoutingVersion.version))
    rows = db.execute(
        select(
            RoutingMunicipality.code,
            RoutingMunicipality.kreds,
            RoutingMunicipality.status,
            RoutingMunicipality.note,
        ).order_by(RoutingMunicipality.code)
    ).all()
    return version, [tuple(row) for row in rows]


def audit_events(db: Any, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_routing_lists_the_98_municipalities(admin):
    html = admin.get("/admin/routing/").get_data(as_text=True)
    assert len(re.findall(r'href="/admin/routing/[0-9]{3}"', html)) == 98
    assert "97 af 98 kommuners kreds er ikke bekræftet" in html
    row = html.split('href="/admin/routing/492"', 1)[1].split("</tr>", 1)[0]
    assert ">Ærø</a>" in row and ">3<" in row and "Jens B. Hansen" in row and "udledt" in row


def test_a_changed_kreds_routes_the_next_request_in_another_process(admin, config, db):
    # Another process's app (a web worker of its own), on the same database, running already.
    other = create_app(config)
    try:
        other_client = other.test_client()
        submit(other_client, "/pjecer/", VALID_ORDER)  # it has read the routing once
        fields = page_fields(admin, AEROE)
        assert fields["kreds"] == "3" and fields["status"] == "inferred"
        fields.update(kreds="7", status="confirmed", note="Bekræftet af 7. kreds, mail 4/12")
        response = admin.post(AEROE, data=fields)
        assert response.status_code == 302
        assert response.headers["Location"] == "/admin/routing/"
        listing = admin.get("/admin/routing/").get_data(as_text=True)
        assert "Routingen for Ærø Kommune er gemt. Den gælder fra næste henvendelse." in listing

        submit(other_client, "/pjecer/", VALID_ORDER)
        newest = db.scalars(select(Submission).order_by(Submission.id.desc())).first()
        assert (newest.kreds, newest.consultant_key) == (7, "sma")
    finally:
        other.extensions["intake"].database.dispose()

    (event,) = audit_events(db, "routing_municipality_changed")
    assert event.actor == "it@bl.dk"
    assert event.detail == (
        "kommune 492 (Ærø): kreds: 3 → 7; status: udledt → bekræftet; note: „3. kreds dækker"
        " de 10 fynske kommuner (fabbo.dk 2024); hvilke 10 er udledt“ → „Bekræftet af 7."
        " kreds, mail 4/12“"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kreds": "12"}, "Kreds „12“ har ingen konsulent. Vælg en af kredsene 1, 2, 3"),
        ({"kreds": "tre"}, "Kreds „tre“ har ingen konsulent."),
        ({"kreds": ""}, "Vælg en kreds."),
        ({"status": "sikker"}, "Vælg, hvor sikker kredsen er: bekræftet, udledt, sandsynlig"),
        ({"note": "x" * 1001}, "Skriv højst 1000 tegn."),
    ],
)
def test_a_bad_kreds_or_status_is_refused_and_nothing_changes(admin, db, change, message):
    before = routing_state(db)
    fields = {**page_fields(admin, AEROE), **change}
    response = admin.post(AEROE, data=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Der er et problem" in html and message in html
    assert routing_state(db) == before
    assert audit_events(db, "routing_municipality_changed") == []


def test_without_a_csrf_token_nothing_changes(admin, db):
    before = routing_state(db)
    fields = {**page_fields(admin, AEROE), "kreds": "7"}
    del fields["csrf_token"]
    response = admin.post(AEROE, data=fields)
    assert response.status_code == 400
    assert "sikkerhedsnøglen" in response.get_data(as_text=True)
    assert routing_state(db) == before


def test_the_office_may_not_see_or_change_the_routing(office, admin, db):
    before = routing_state(db)
    token = hidden_fields(office.get("/admin/orders/").get_data(as_text=True))["csrf_token"]
    for path in ("/admin/routing/", AEROE, "/admin/consultants/"):
        assert office.get(path).status_code == 403
    assert office.post(AEROE, data={"csrf_token": token, "kreds": "7"}).status_code == 403
    consultants = {**page_fields(admin, "/admin/consultants/"), "csrf_token": token}
    consultants["jbh-email"] = "ny@bl.dk"
    assert office.post("/admin/consultants/", data=consultants).status_code == 403
    assert routing_state(db) == before
    assert "Routing" not in office.get("/admin/orders/").get_data(as_text=True).split("</nav>")[0]


def test_consultants_and_the_office_are_edited_with_before_and_after(admin, app, db):
    fields = page_fields(admin, "/admin/consultants/")
    assert fields["jf-kredse"] == "2, 9, 11" and fields["office-email"] == "bwj@bl.dk"
    fields.update(
        {
            "jbh-email": "jens.hansen@bl.dk",
            "jbh-phone": "87 33 10 99",
            "jbh-salesforce_user_id": "005000000000JBHAA2",
            "office-phone": "33 76 20 50",
        }
    )
    response = admin.post("/admin/consultants/", data=fields)
    assert response.status_code == 302
    (event,) = audit_events(db, "routing_consultants_changed")
    assert event.actor == "it@bl.dk"
    assert event.detail.splitlines() == [
        "pjecekontoret: telefon: „33762049“ → „33762050“",
        "konsulent jbh (Jens B. Hansen): e-mail: „jbh@bl.dk“ → „jens.hansen@bl.dk“; telefon:"
        " „87331062“ → „87331099“; Salesforce-bruger-id: „“ → „005000000000JBHAA2“",
    ]
    with app.app_context():
        routing = app.extensions["intake"].routing
        assert routing.consultants["jbh"].email == "jens.hansen@bl.dk"
        assert routing.consultants["jbh"].salesforce_user_id == "005000000000JBHAA2"
        assert routing.office.phone == "33762050"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jf-kredse": "2, 9"}, "Kreds 11 mangler en konsulent: 18 kommuner ligger i den"),
        ({"sma-kredse": "7, 8, 10, 3"}, "Kreds 3 er også givet til Jens B. Hansen."),
        ({"jf-kredse": "2, ni"}, "Skriv kredsenes numre adskilt med komma, fx 2, 9, 11."),
        ({"ns-email": "ns@"}, "Skriv en gyldig e-mailadresse, fx navn@bl.dk."),
        ({"office-email": ""}, "Skriv pjecekontorets e-mailadresse."),
        ({"lfi-name": " "}, "Skriv konsulentens navn."),
        ({"taj-phone": "123"}, "Skriv et dansk telefonnummer med 8 cifre"),
        ({"taj-salesforce_user_id": "00Q000000000001"}, "Et Salesforce-bruger-id har 15 eller"),
    ],
)
def test_bad_consultants_are_refused_and_nothing_changes(admin, db, change, message):
    before = routing_state(db)
    fields = {**page_fields(admin, "/admin/consultants/"), **change}
    response = admin.post("/admin/consultants/", data=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Der er et problem" in html and message in html
    assert routing_state(db) == before
    assert audit_events(db, "routing_consultants_changed") == []


def export(runner: Any) -> str:
    result = runner.invoke(args=["intake", "routing", "export"])
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_export_then_import_round_trips(app, db, tmp_path):
    runner = app.test_cli_runner()
    exported = tmp_path / "routing.toml"
    assert runner.invoke(args=["intake", "routing", "export", str(exported)]).exit_code == 0
    text = exported.read_text(encoding="utf-8")
    assert text == export(runner)
    same = runner.invoke(args=["intake", "routing", "import", str(exported)])
    assert same.exit_code == 0, same.output
    assert "intet er ændret" in same.stdout
    assert export(runner) == text  # identical content, out, in and out again

    # BL's IT edits the exported file and imports it: that change, and only it.
    moved = text.replace('kreds = 3,  status = "inferred"', 'kreds = 7,  status = "confirmed"', 1)
    assert moved != text
    exported.write_text(moved, encoding="utf-8")
    imported = runner.invoke(args=["intake", "routing", "import", str(exported)])
    assert imported.exit_code == 0, imported.output
    assert "1 ændring." in imported.stdout
    after = export(runner)
    assert [a for a, b in zip(after.splitlines(), text.splitlines(), strict=True) if a != b] == [
        '410 = { name = "Middelfart",         kreds = 7,  status = "confirmed", note = "3. kreds'
        ' dækker de 10 fynske kommuner (fabbo.dk 2024); hvilke 10 er udledt" }'
    ]
    (event,) = audit_events(db, "routing_imported")
    assert event.actor == "cli"
    assert event.detail.startswith("kommune 410 (Middelfart): kreds: 3 → 7; status: udledt →")


def test_a_bad_file_is_refused_in_danish_and_nothing_changes(app, db, tmp_path):
    before = routing_state(db)
    routing = (DATA_DIR / "routing.toml").read_text(encoding="utf-8")
    bad = tmp_path / "routing.toml"
    bad.write_text(routing.replace("kreds = 1,", "kreds = 12,", 1), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["intake", "routing", "import", str(bad)])
    assert result.exit_code == 1
    assert "Routingen er ikke importeret, og intet er ændret" in result.output
    assert "municipality 101 (København) has kreds 12" in result.output
    assert routing_state(db) == before
    assert audit_events(db, "routing_imported") == []


def test_routing_check_checks_the_database_or_a_file(app, admin, tmp_path):
    fields = {**page_fields(admin, AEROE), "kreds": "7", "status": "confirmed"}
    assert admin.post(AEROE, data=fields).status_code == 302
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["intake", "routing", "check"])
    assert checked.exit_code == 0
    assert checked.stdout.startswith("Routing: in the database")
    assert "Unconfirmed entries (96)" in checked.stdout
    shipped = runner.invoke(
        args=["intake", "routing", "check", "--file", str(DATA_DIR / "routing.toml")]
    )
    assert "Unconfirmed entries (97)" in shipped.output
