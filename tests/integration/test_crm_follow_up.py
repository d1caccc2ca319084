"""The follow-up read back from Salesforce (intake.delivery.follow_up): the real
simple-salesforce client over real HTTPS against the emulator, whose records a consultant
changes through its control pages; the back office shows each municipality's stage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from crm_sync.errors import CrmUnavailable
from intake.backoffice.coverage import Stage
from intake.delivery.follow_up import NAME, FollowUpPull
from intake.delivery.worker import Worker
from intake.models import AuditEvent, SalesforceSync, Submission, SubmissionKind, utcnow
from tests.support.helpers import VALID_HELP, VALID_ORDER, hidden_fields, submit
from tests.support.settings import send_mail_to, use_salesforce
from tests.support.staff import OFFICE_EMAIL

KOEBENHAVN, AARHUS, ODENSE, AEROE = "101", "751", "461", "492"


@pytest.fixture
def config(config, salesforce, smtp):
    return use_salesforce(send_mail_to(config, smtp), salesforce)


def control(salesforce, path: str, body: dict | None = None) -> requests.Response:
    """The emulator's control pages over HTTPS, as another process (a test, a script) uses
    them: a consultant's change in Salesforce."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(salesforce.ca_pem_path)
    answer = session.post(f"{salesforce.url}/_emulator/{path}", json=body, timeout=10)
    assert answer.status_code in (200, 204), answer.text
    return answer


def lead_of(salesforce, db, code: str) -> dict:
    public_id = db.scalars(
        select(Submission.public_id).where(Submission.municipality_code == code)
    ).first()
    (lead,) = salesforce.find_records("Lead", Intake_Submission_Id__c=public_id)
    return lead


def task_of(salesforce, lead: dict) -> dict:
    (task,) = salesforce.find_records("Task", WhoId=lead["Id"])
    return task


def stages_on_the_map(client) -> dict[str, str]:
    html = client.get("/admin/overview").get_data(as_text=True)
    found = re.findall(r'<a href="[^"]*" data-kode="(\d{3})"><title>[^:<]*: ([^<]*)</title>', html)
    return dict(found)


def headline(client) -> str:
    html = client.get("/admin/overview").get_data(as_text=True)
    start = html.index('<ul class="headline"')
    return " ".join(re.sub(r"<[^>]+>", " ", html[start : html.index("</ul>", start)]).split())


@pytest.fixture
def requests_sent(app, client, db, salesforce):
    """Start-up requests from København, Aarhus and Odense and an order from Ærø, in
    Salesforce as leads (with a follow-up task each start-up request)."""
    for code in (KOEBENHAVN, AARHUS, ODENSE):
        assert submit(client, "/opstartshjaelp/", VALID_HELP, municipality=code).status_code == 303
    assert submit(client, "/pjecer/", VALID_ORDER).status_code == 303
    Worker(app).run_once()
    assert len(salesforce.records["Lead"]) == 4
    return app


def test_a_pull_moves_the_municipalities_a_consultant_contacted_or_converted(
    requests_sent, app, office, db, salesforce
):
    startup = Stage.STARTUP.label
    assert {k: stages_on_the_map(office)[k] for k in (KOEBENHAVN, AARHUS, ODENSE)} == dict.fromkeys(
        (KOEBENHAVN, AARHUS, ODENSE), startup
    )
    copenhagen, aarhus = lead_of(salesforce, db, KOEBENHAVN), lead_of(salesforce, db, AARHUS)
    control(salesforce, f"records/Lead/{copenhagen['Id']}", {"Status": "Working - Contacted"})
    control(salesforce, f"leads/{aarhus['Id']}/convert")
    before = salesforce.api_request_count()

    result = Worker(app).pull_follow_up(force=True)

    assert result is not None and result.pulled
    assert (result.leads, result.stored, result.api_requests) == (4, 4, 1)
    assert salesforce.api_request_count() - before == 1  # one query, one page
    stages = stages_on_the_map(office)
    assert stages[KOEBENHAVN] == "er i kontakt med en konsulent"
    assert stages[AARHUS] == "har et kommunesamarbejde"
    assert stages[ODENSE] == startup
    assert stages[AEROE] == Stage.ORDERED.label  # its lead is open, not contacted
    assert headline(office).startswith(
        "1 af 98 kommuner har et kommunesamarbejde (1 %) "
        "1 er i kontakt med en konsulent (1 %) "
        "1 har bedt om opstartshjælp (1 %) "
        "1 har bestilt pjecer (1 %)"
    )
    page = office.get(f"/admin/municipalities/{AARHUS}").get_data(as_text=True)
    assert "Salesforce: en konsulent har konverteret et lead fra kommunen" in page
    db.expire_all()
    stored = db.scalars(select(Submission).where(Submission.municipality_code == AARHUS)).one()
    assert (stored.crm_lead_status, stored.crm_converted) == ("Closed - Converted", True)
    assert stored.crm_task_status is None  # converting moved its task to the new contact


def test_the_order_page_shows_the_follow_up_and_the_salesforce_link(
    requests_sent, app, office, db, salesforce
):
    order = db.scalars(
        select(Submission).where(Submission.kind == SubmissionKind.PAMPHLET_ORDER)
    ).one()
    page = office.get(f"/admin/orders/{order.reference}").get_data(as_text=True)
    assert "Salesforce er ikke læst for denne henvendelse endnu." in page
    lead = lead_of(salesforce, db, AEROE)
    control(salesforce, f"records/Lead/{lead['Id']}", {"Status": "Working - Contacted"})
    Worker(app).pull_follow_up(force=True)

    page = office.get(f"/admin/orders/{order.reference}").get_data(as_text=True)
    section = page[page.index('<section aria-labelledby="opfoelgning"') :]
    section = section[: section.index("</section>")]
    assert "Konsulenten er i kontakt med boligorganisationen." in section
    assert "<dt>Leadets status</dt><dd>I gang – kontaktet</dd>" in section
    link = f"{salesforce.url}/lightning/r/Lead/{lead['Id']}/view"
    assert f'<a href="{link}" id="salesforce-link">Åbn i Salesforce</a>' in section


def test_the_start_up_request_page_shows_the_follow_up_and_the_salesforce_link(
    requests_sent, app, office, db, salesforce
):
    request_ = db.scalars(select(Submission).where(Submission.municipality_code == AARHUS)).one()
    lead = lead_of(salesforce, db, AARHUS)
    control(salesforce, f"leads/{lead['Id']}/convert")
    Worker(app).pull_follow_up(force=True)

    page = office.get(f"/admin/requests/{request_.reference}").get_data(as_text=True)
    section = page[page.index('<section aria-labelledby="opfoelgning"') :]
    section = section[: section.index("</section>")]
    assert "Leadet er konverteret i Salesforce: kommunesamarbejde etableret." in section
    link = f"{salesforce.url}/lightning/r/Lead/{lead['Id']}/view"
    assert f'<a href="{link}" id="salesforce-link">Åbn i Salesforce</a>' in section


def test_healthz_says_when_the_follow_up_was_last_read(requests_sent, app, client, db, salesforce):
    """A pull that stops (a lost lease, a Salesforce login that no longer works) must show
    somewhere a monitor looks: /healthz gives the last pull and how far it has read."""
    assert client.get("/healthz").json["follow_up"] == {
        "last_pull_at": None,
        "changes_through": None,
    }
    lead = lead_of(salesforce, db, KOEBENHAVN)
    control(salesforce, f"records/Lead/{lead['Id']}", {"Status": "Working - Contacted"})
    before = utcnow()
    Worker(app).pull_follow_up(force=True)

    pulled = client.get("/healthz").json["follow_up"]
    assert datetime.fromisoformat(pulled["last_pull_at"]) >= before.replace(microsecond=0)
    newest = salesforce.records["Lead"][lead["Id"]]["LastModifiedDate"]
    assert pulled["changes_through"][:19] == newest[:19]


def test_the_command_pulls_on_demand_and_reads_a_task_s_status(
    requests_sent, app, office, db, salesforce
):
    task = task_of(salesforce, lead_of(salesforce, db, ODENSE))
    control(salesforce, f"records/Task/{task['Id']}", {"Status": "In Progress"})

    result = app.test_cli_runner().invoke(args=["intake", "crm", "pull"])

    assert result.exit_code == 0, result.output
    assert "Read 4 changed lead(s), updated 4 request(s) with 1 API request(s)" in result.output
    assert stages_on_the_map(office)[ODENSE] == "er i kontakt med en konsulent"
    db.expire_all()
    stored = db.scalars(select(Submission).where(Submission.municipality_code == ODENSE)).one()
    assert stored.crm_task_status == "In Progress"
    page = office.get("/admin/overview").get_data(as_text=True)
    assert "Opfølgningen læses fra Salesforce hvert 60. minut; senest" in page


def sync_row(db) -> SalesforceSync:
    db.expire_all()
    return db.get(SalesforceSync, NAME)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def test_the_watermark_is_the_newest_change_read_and_the_next_pull_asks_after_it(
    requests_sent, app, db, salesforce
):
    worker = Worker(app)
    assert worker.follow_up is not None
    pull = FollowUpPull(
        worker.follow_up.config,
        worker.follow_up.client,
        every=None,
        lease=timedelta(minutes=5),
        overlap=timedelta(0),
    )
    engine = app.extensions["intake"].database.engine
    ten = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    for lead in salesforce.records["Lead"].values():  # saved in Salesforce at 10.00
        lead["LastModifiedDate"] = stamp(ten)

    first = pull.pull(engine, "w1", force=True)
    assert (first.leads, first.watermark) == (4, ten)
    assert sync_row(db).synced_through == ten

    lead = lead_of(salesforce, db, KOEBENHAVN)
    salesforce.records["Lead"][lead["Id"]].update(
        Status="Working - Contacted", LastModifiedDate=stamp(ten + timedelta(hours=1))
    )
    second = pull.pull(engine, "w1", force=True)
    assert (second.leads, second.stored, second.watermark) == (1, 1, ten + timedelta(hours=1))
    query = salesforce.requests[-1].query
    assert "LastModifiedDate+%3E+2026-11-30T10%3A00%3A00Z" in query

    third = pull.pull(engine, "w1", force=True)  # nothing changed: the watermark stays
    assert (third.leads, third.watermark) == (0, ten + timedelta(hours=1))
    assert sync_row(db).synced_through == ten + timedelta(hours=1)


def test_the_scheduled_pull_reads_again_after_an_overlap(requests_sent, app, salesforce):
    worker = Worker(app)
    count = salesforce.api_request_count()
    worker.pull_follow_up_if_due()  # a worker looks first a minute after it started
    assert salesforce.api_request_count() == count
    worker._next_follow_up_check = 0  # a minute later
    worker.pull_follow_up_if_due()  # never pulled: due
    assert "LastModifiedDate+%3E" not in salesforce.requests[-1].query  # every lead
    count = salesforce.api_request_count()
    worker._next_follow_up_check = 0  # look again at once
    worker.pull_follow_up_if_due()  # pulled a moment ago: not due for 60 minutes
    assert salesforce.api_request_count() == count
    forced = worker.pull_follow_up(force=True)
    assert forced is not None and forced.pulled
    # Asked from five minutes before the newest change read (a late commit is read again).
    assert re.search(r"LastModifiedDate\+%3E\+\d{4}-", salesforce.requests[-1].query)


def test_no_scheduled_pull_when_the_setting_is_0(build_app, salesforce):
    app = build_app(INTAKE_CRM_PULL_MINUTES=0)
    worker = Worker(app)
    worker._next_follow_up_check = 0
    worker.pull_follow_up_if_due()
    assert salesforce.api_request_count() == 0


def test_only_one_worker_pulls_at_a_time(requests_sent, app, db, salesforce):
    Worker(app).pull_follow_up(force=True)  # the row exists
    row = sync_row(db)
    row.leased_by, row.leased_until = "other-worker", utcnow() + timedelta(minutes=5)
    db.commit()
    count = salesforce.api_request_count()

    held = Worker(app).pull_follow_up(force=True)
    assert held is not None and not held.pulled
    assert salesforce.api_request_count() == count  # it did not ask Salesforce
    result = app.test_cli_runner().invoke(args=["intake", "crm", "pull"])
    assert result.exit_code == 1
    assert "Another worker is pulling right now" in result.output

    row = sync_row(db)  # that worker died: its lease runs out, and another takes over
    row.leased_until = utcnow() - timedelta(seconds=1)
    db.commit()
    taken = Worker(app).pull_follow_up(force=True)
    assert taken is not None and taken.pulled
    assert sync_row(db).leased_by is None


def test_a_failed_pull_stores_nothing_and_loses_nothing(requests_sent, app, office, db, salesforce):
    lead = lead_of(salesforce, db, KOEBENHAVN)
    control(salesforce, f"records/Lead/{lead['Id']}", {"Status": "Working - Contacted"})
    salesforce.fail_next(1, 503)
    with pytest.raises(CrmUnavailable):
        Worker(app).pull_follow_up(force=True)
    row = sync_row(db)
    assert (row.synced_through, row.refreshed_at, row.leased_by) == (None, None, None)
    assert stages_on_the_map(office)[KOEBENHAVN] == Stage.STARTUP.label

    result = app.test_cli_runner().invoke(args=["intake", "crm", "pull"])  # Salesforce is back
    assert result.exit_code == 0, result.output
    assert stages_on_the_map(office)[KOEBENHAVN] == "er i kontakt med en konsulent"


def test_a_failure_on_a_later_page_stores_none_of_the_pages_before(
    requests_sent, app, db, salesforce
):
    salesforce.records["Lead"].update(
        {
            f"00QEm{n:013d}": {
                **next(iter(salesforce.records["Lead"].values())),
                "Id": f"00QEm{n:013d}",
                "Intake_Submission_Id__c": f"elsewhere-{n}",
            }
            for n in range(2100)
        }
    )  # leads BL Intake made elsewhere (another database): a second page
    lead = lead_of(salesforce, db, KOEBENHAVN)
    control(salesforce, f"records/Lead/{lead['Id']}", {"Status": "Working - Contacted"})
    worker = Worker(app)
    worker.follow_up.client.session.hooks["response"].append(
        lambda response, *a, **k: (
            salesforce.fail_next(1, 503) if "/query/?" in response.url else None
        )
    )  # the first page comes; the next request fails
    with pytest.raises(CrmUnavailable):
        worker.pull_follow_up(force=True)
    db.expire_all()
    assert db.scalars(select(Submission.crm_lead_status)).all() == [None] * 4
    assert sync_row(db).synced_through is None


def test_a_cooperation_recorded_by_hand_counts_and_is_in_the_audit_log(app, office, db):
    path = f"/admin/municipalities/{AEROE}"
    token = hidden_fields(office.get(path).get_data(as_text=True))

    bad = office.post(path + "/cooperation", data={**token, "established_on": "31.2.2026"})
    assert bad.status_code == 400
    assert "Skriv datoen som dag, måned og år, fx 1.12.2026." in bad.get_data(as_text=True)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    future = office.post(path + "/cooperation", data={**token, "established_on": tomorrow})
    assert "Datoen kan ikke ligge efter i dag." in future.get_data(as_text=True)
    recorded = select(AuditEvent).where(AuditEvent.action.startswith("cooperation"))
    assert db.scalars(recorded).all() == []  # nothing changed by a bad post
    assert stages_on_the_map(office)[AEROE] == Stage.NOTHING.label

    done = office.post(
        path + "/cooperation",
        data={**token, "established_on": "1.12.2026", "note": "Aftale med Ærø Kommune"},
    )
    assert (done.status_code, done.headers["Location"]) == (303, path)
    assert stages_on_the_map(office)[AEROE] == Stage.COOPERATION.label
    page = office.get(path).get_data(as_text=True)
    assert f"Registreret af {OFFICE_EMAIL} den " in page
    assert "etableret 1. december 2026 – Aftale med Ærø Kommune" in page
    (event,) = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "cooperation_recorded")
    ).all()
    assert event.detail == (
        "Kommune 492 (Ærø): etableret 1. december 2026, note: Aftale med Ærø Kommune "
        "(før: intet registreret)"
    )
    assert "Kommunesamarbejde registreret" in page  # the history on the page

    removed = office.post(path + "/cooperation/remove", data=token)
    assert removed.status_code == 303
    assert stages_on_the_map(office)[AEROE] == Stage.NOTHING.label
    (gone,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "cooperation_removed"))
    assert gone.detail.startswith("Kommune 492 (Ærø): var etableret 1. december 2026")
    assert gone.actor == event.actor == OFFICE_EMAIL


def test_a_yes_on_the_start_up_form_counts_as_a_cooperation(client, office):
    help_yes = {**VALID_HELP, "existing_cooperation": "yes"}
    assert submit(client, "/opstartshjaelp/", help_yes, municipality=ODENSE).status_code == 303
    assert stages_on_the_map(office)[ODENSE] == Stage.COOPERATION.label
    page = office.get(f"/admin/municipalities/{ODENSE}").get_data(as_text=True)
    assert "En anmodning om opstartshjælp svarede, at der allerede er et samarbejde" in page
