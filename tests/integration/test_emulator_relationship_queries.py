"""The emulator answers the follow-up pull's query as Salesforce does (crm_sync.follow_up):
parent-to-child subqueries, dateTime filters, query paging with nextRecordsUrl (children count
towards a batch), and a sales user's changes; and the pull's own reading over many pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from crm_sync.client import SalesforceClient
from crm_sync.emulator import SalesforceEmulator
from crm_sync.follow_up import fetch_follow_ups, follow_up_query
from tests.support.emulator_client import api, trusting_session
from tests.support.settings import use_salesforce

EXT = "Intake_Submission_Id__c"


@pytest.fixture
def sf(salesforce: SalesforceEmulator) -> Salesforce:
    return api(salesforce, trusting_session(salesforce))


def lead(salesforce: SalesforceEmulator, n: int, **fields: object) -> str:
    return salesforce.add_record(
        "Lead", {"LastName": f"Jensen {n}", "Company": "Solsikken", EXT: f"sub-{n}", **fields}
    )


def task(salesforce: SalesforceEmulator, who: str, status: str = "Not Started", **fields) -> str:
    return salesforce.add_record(
        "Task", {"WhoId": who, "Subject": "Følg op på OH-2026-00001: x", "Status": status, **fields}
    )


def test_a_subquery_gives_each_parent_its_children_or_null(salesforce, sf):
    with_tasks, without = lead(salesforce, 1), lead(salesforce, 2)
    task(salesforce, with_tasks, "Completed", LastModifiedDate="2026-11-01T10:00:00.000+0000")
    task(salesforce, with_tasks, "In Progress", LastModifiedDate="2026-11-02T10:00:00.000+0000")
    result = sf.query(
        "SELECT Id, (SELECT Id, Status FROM Tasks ORDER BY LastModifiedDate DESC LIMIT 1) "
        "FROM Lead ORDER BY LastName"
    )
    first, second = result["records"]
    assert first["Id"] == with_tasks and second["Id"] == without
    tasks = first["Tasks"]
    assert (tasks["totalSize"], tasks["done"]) == (1, True)
    (newest,) = tasks["records"]
    assert newest["Status"] == "In Progress"
    assert newest["attributes"]["type"] == "Task"
    assert second["Tasks"] is None  # no children: null, not an empty result


def test_unknown_relationships_and_nested_or_semi_join_queries_are_refused(sf):
    for soql in (
        "SELECT Id, (SELECT Id FROM Taskz) FROM Lead",
        "SELECT Id, (SELECT Id, (SELECT Id FROM Tasks) FROM Tasks) FROM Lead",
        "SELECT Id FROM Lead WHERE Id IN (SELECT WhoId FROM Task)",
    ):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.query(soql)
        assert refused.value.content[0]["errorCode"] in ("INVALID_TYPE", "MALFORMED_QUERY")


def test_datetime_literals_filter_on_last_modified_date(salesforce, sf):
    lead(salesforce, 1, LastModifiedDate="2026-11-30T09:59:59.000+0000")
    later = lead(salesforce, 2, LastModifiedDate="2026-11-30T10:00:01.000+0000")
    found = sf.query(
        "SELECT Id FROM Lead WHERE Intake_Submission_Id__c != null "
        "AND LastModifiedDate > 2026-11-30T10:00:00Z"
    )
    assert [r["Id"] for r in found["records"]] == [later]
    found = sf.query("SELECT Id FROM Lead WHERE LastModifiedDate > 2026-11-30T11:00:00+01:00")
    assert [r["Id"] for r in found["records"]] == [later]  # the offset is from UTC


def test_a_sales_user_s_change_moves_last_modified_date_and_is_checked(salesforce):
    lead_id = lead(salesforce, 1, LastModifiedDate="2026-01-01T00:00:00.000+0000")
    salesforce.edit_record("Lead", lead_id, {"Status": "Working - Contacted"})
    changed = salesforce.get_record("Lead", lead_id)
    assert changed["Status"] == "Working - Contacted"
    assert changed["LastModifiedDate"] > "2026-01-01T00:00:00.000+0000"
    session = trusting_session(salesforce)
    bad = session.post(
        f"{salesforce.url}/_emulator/records/Lead/{lead_id}", json={"Status": "Ringet op"}
    )
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    salesforce.convert_lead(lead_id)
    refused = session.post(
        f"{salesforce.url}/_emulator/records/Lead/{lead_id}", json={"Status": "Working - Contacted"}
    )
    assert refused.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    missing = session.post(
        f"{salesforce.url}/_emulator/records/Task/00TEm0000000000999", json={"Status": "Completed"}
    )
    assert missing.status_code == 404


def test_paging_counts_children_towards_a_batch_and_follows_next_records_url(salesforce, sf):
    for n in range(1500):
        task(salesforce, lead(salesforce, n))
    first = sf.query("SELECT Id, (SELECT Id FROM Tasks) FROM Lead")
    assert (first["totalSize"], first["done"], len(first["records"])) == (1500, False, 1000)
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (rest["done"], len(rest["records"])) == (True, 500)
    assert "nextRecordsUrl" not in rest
    with pytest.raises(SalesforceMalformedRequest) as gone:  # a locator read to the end
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert gone.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    # Sforce-Query-Options asks for smaller batches (200 at least); never splitting a parent.
    sf.session.headers["Sforce-Query-Options"] = "batchSize=201"
    small = sf.query("SELECT Id, (SELECT Id FROM Tasks) FROM Lead")
    assert len(small["records"]) == 100


@pytest.mark.parametrize("leads", [1000, 2500])
def test_one_pull_of_many_changed_leads_costs_one_request_per_thousand(
    salesforce, build_app, config, leads
):
    for n in range(leads):
        task(salesforce, lead(salesforce, n, Status="Working - Contacted"), "In Progress")
    use_salesforce(config, salesforce)
    client = SalesforceClient(build_app().extensions["intake"].salesforce)
    since = datetime(2026, 1, 1, tzinfo=UTC)

    found = fetch_follow_ups(client, EXT, since)

    assert len(found.leads) == leads
    assert len({f.external_id for f in found.leads}) == leads
    assert {(f.status, f.task_status, f.converted) for f in found.leads} == {
        ("Working - Contacted", "In Progress", False)
    }
    assert client.api_requests == -(-leads // 1000)  # 1 for 1,000; 3 for 2,500
    assert found.soql == follow_up_query(EXT, since)
    queries = [r for r in salesforce.requests if "/query" in r.path]
    assert len(queries) == client.api_requests


def test_the_control_page_is_there_for_other_processes(salesforce):
    session: requests.Session = trusting_session(salesforce)
    lead_id = lead(salesforce, 1)
    done = session.post(
        f"{salesforce.url}/_emulator/records/Lead/{lead_id}",
        json={"Status": "Closed - Not Converted"},
    )
    assert done.status_code == 204
    assert salesforce.get_record("Lead", lead_id)["Status"] == "Closed - Not Converted"
