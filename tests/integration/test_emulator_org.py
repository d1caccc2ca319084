"""The emulator answers as a real org does: its duplicate rule, validation rules, the chunk
limit of sObject Collections, lead conversion, the JWT audience, the daily allowance,
read-only maintenance and 429s. simple-salesforce over real HTTPS on loopback; each
behaviour is the one Salesforce documents (README: "What the emulator follows")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, format_external_id, format_soql
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from crm_sync.emulator import SalesforceEmulator
from crm_sync.emulator.org import DuplicateRuleAction, ValidationRule
from tests.support.emulator_client import VERSION, api, emulator_process, trusting_session

EXT = "Intake_Submission_Id__c"
ALLOW_SAVE = {"Sforce-Duplicate-Rule-Header": "allowSave=true; includeRecordDetails=false"}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SalesforceEmulator]:
    with SalesforceEmulator(state_dir=tmp_path_factory.mktemp("sf-org")) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(emulator: SalesforceEmulator) -> None:
    emulator.reset()


@pytest.fixture
def session(emulator: SalesforceEmulator) -> Iterator[requests.Session]:
    with trusting_session(emulator) as session:
        yield session


@pytest.fixture
def sf(emulator: SalesforceEmulator, session: requests.Session) -> Salesforce:
    return api(emulator, session)


def _lead(**fields: Any) -> dict[str, Any]:
    return {
        "FirstName": "Åse",
        "LastName": "Bøgh",
        "Company": "Boligselskabet Sønderå",
        "Email": "aase@example.dk",
        **fields,
    }


def _upsert(
    sf: Salesforce, external_id: str, headers: dict[str, str] | None = None, **fields: Any
) -> Any:
    return sf.restful(
        f"sobjects/Lead/{format_external_id(EXT, external_id)}",
        method="PATCH",
        json=_lead(**fields),
        headers=headers or {},
    )


# ------------------------------------------------------------------------------ duplicate rule


def test_the_duplicate_rule_alerts_unless_the_client_allows_the_save(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    emulator.org.duplicate_rule = DuplicateRuleAction.ALERT
    first = sf.Lead.create(_lead())["id"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        _upsert(sf, "second")
    (problem,) = refused.value.content
    assert problem["errorCode"] == "DUPLICATES_DETECTED"
    result = problem["duplicateResut"]  # sic: the key real orgs send
    assert (result["allowSave"], result["duplicateRule"]) == (True, "Standard_Lead_Duplicate_Rule")
    (match,) = result["matchResults"]
    assert match["entityType"] == "Lead"
    assert [r["record"]["Id"] for r in match["matchRecords"]] == [first]
    assert len(emulator.records["Lead"]) == 1

    created = _upsert(sf, "second", ALLOW_SAVE)
    assert created["created"] is True
    # The rule's action on edit is Allow (report only): an update is never refused.
    assert _upsert(sf, "second", City="Ærøskøbing")["created"] is False
    # A blank field matches nothing; another person at the same address is no duplicate.
    assert _upsert(sf, "third", FirstName=None)["created"] is True
    assert _upsert(sf, "fourth", FirstName="Bo")["created"] is True


def test_the_duplicate_rule_matches_contacts_too(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    emulator.org.duplicate_rule = DuplicateRuleAction.ALERT
    contact = emulator.add_record(
        "Contact", {"FirstName": "ÅSE", "LastName": "bøgh", "Phone": "+45 33 76 20 40"}
    )
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.create(_lead(Email=None, Phone="33762040"))
    (match,) = refused.value.content[0]["duplicateResut"]["matchResults"]
    assert (match["entityType"], match["matchRecords"][0]["record"]["Id"]) == ("Contact", contact)


def test_a_blocking_duplicate_rule_refuses_whatever_the_header_says(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    emulator.org.duplicate_rule = DuplicateRuleAction.BLOCK
    sf.Lead.create(_lead())
    with pytest.raises(SalesforceMalformedRequest) as refused:
        _upsert(sf, "second", ALLOW_SAVE)
    assert refused.value.content[0]["duplicateResut"]["allowSave"] is False


def test_collections_answer_the_duplicate_rule_per_record(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    emulator.org.duplicate_rule = DuplicateRuleAction.ALERT
    existing = sf.Lead.create(_lead())["id"]
    records = [
        {"attributes": {"type": "Lead"}, **_lead(**{EXT: "c-1"})},
        {"attributes": {"type": "Lead"}, **_lead(**{EXT: "c-2", "Email": "bo@example.dk"})},
    ]
    path = f"composite/sobjects/Lead/{EXT}"
    duplicate, other = sf.restful(path, method="PATCH", json={"records": records})
    assert other["success"] is True
    (problem,) = duplicate["errors"]
    assert problem["statusCode"] == "DUPLICATES_DETECTED"
    match = problem["duplicateResult"]["matchResults"][0]["matchRecords"][0]
    assert match["record"]["Id"] == existing

    saved = sf.restful(path, method="PATCH", json={"records": records}, headers=ALLOW_SAVE)
    assert [r["success"] for r in saved] == [True, True]
    assert [r["created"] for r in saved] == [True, False]


def test_without_the_rule_duplicates_are_saved(sf: Salesforce) -> None:
    sf.Lead.create(_lead())
    assert sf.Lead.create(_lead())["success"] is True


# ------------------------------------------------------------------------------ validation rule


def test_a_validation_rule_answers_with_the_admins_message(
    emulator: SalesforceEmulator, sf: Salesforce, session: requests.Session
) -> None:
    emulator.org.validation_rules.append(
        ValidationRule("Lead", "Telefon_paakraevet", "Phone", "Skriv et telefonnummer på leadet")
    )
    posted = session.post(
        emulator.url + "/_emulator/validation-rules",
        json={
            "sobject": "Lead",
            "name": "Postnummer_4_cifre",
            "field": "PostalCode",
            "message": "Et dansk postnummer har fire cifre",
            "pattern": r"\d{4}",
        },
        timeout=10,
    )
    assert posted.status_code == 204
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.create(_lead(Phone="33762040", PostalCode="597"))
    assert refused.value.content == [
        {
            "message": "Et dansk postnummer har fire cifre",
            "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "fields": ["PostalCode"],
        }
    ]
    lead = sf.Lead.create(_lead(Phone="33762040", PostalCode="5970"))["id"]
    with pytest.raises(SalesforceMalformedRequest) as on_update:
        sf.Lead.update(lead, {"Phone": None})
    assert on_update.value.content[0]["message"] == "Skriv et telefonnummer på leadet"


# ------------------------------------------------------------------------------ chunks


def _followups(
    lead_id: str, campaign_id: str, pairs: int, *, grouped: bool
) -> list[dict[str, Any]]:
    tasks = [
        {"attributes": {"type": "Task"}, "Subject": f"Følg op {i}", "WhoId": lead_id}
        for i in range(pairs)
    ]
    members = [
        {"attributes": {"type": "CampaignMember"}, "CampaignId": campaign_id, "LeadId": lead_id}
    ] * pairs
    if grouped:
        return tasks + members
    return [record for pair in zip(tasks, members, strict=True) for record in pair]


def test_more_than_ten_chunks_fail_every_record(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    lead_id = sf.Lead.create(_lead())["id"]
    campaign_id = emulator.add_record("Campaign", {"Name": "Kommunesamarbejde 2026"})
    interleaved = _followups(lead_id, campaign_id, 6, grouped=False)  # 12 chunks
    results = sf.restful("composite/sobjects", method="POST", json={"records": interleaved})
    assert len(results) == 12
    assert {r["errors"][0]["statusCode"] for r in results} == {"EXCEEDED_MAX_TYPES_LIMIT"}
    assert not any(r["success"] for r in results)
    assert emulator.records["Task"] == {} and emulator.records["CampaignMember"] == {}

    grouped = _followups(lead_id, campaign_id, 1, grouped=False) * 5  # 10 chunks: allowed
    results = sf.restful("composite/sobjects", method="POST", json={"records": grouped})
    assert results[0]["success"] is True
    # One membership per lead and campaign: the others are DUPLICATE_VALUE.
    member_errors = {r["errors"][0]["statusCode"] for r in results[3::2]}
    assert member_errors == {"DUPLICATE_VALUE"}
    assert len(emulator.records["Task"]) == 5
    assert len(emulator.records["CampaignMember"]) == 1


# ------------------------------------------------------------------------------ conversion


def test_converting_moves_tasks_and_memberships_and_locks_the_lead(
    emulator: SalesforceEmulator, sf: Salesforce, session: requests.Session
) -> None:
    campaign_id = emulator.add_record("Campaign", {"Name": "Kommunesamarbejde 2026"})
    lead_id = _upsert(sf, "conv-1")["id"]
    task_id = sf.Task.create({"Subject": "Følg op", "WhoId": lead_id})["id"]
    sf.CampaignMember.create({"CampaignId": campaign_id, "LeadId": lead_id})

    converted = session.post(f"{emulator.url}/_emulator/leads/{lead_id}/convert", timeout=10)
    contact_id = converted.json()["contactId"]

    lead = sf.Lead.get(lead_id)
    assert (lead["IsConverted"], lead["ConvertedContactId"]) == (True, contact_id)
    assert sf.Account.get(lead["ConvertedAccountId"])["Name"] == "Boligselskabet Sønderå"
    assert sf.Task.get(task_id)["WhoId"] == contact_id
    (member,) = emulator.records["CampaignMember"].values()
    assert (member["LeadId"], member["ContactId"]) == (lead_id, contact_id)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        _upsert(sf, "conv-1", City="Marstal")
    assert refused.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_query_all_finds_deleted_records_and_what_changed_since(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    kept = sf.Contact.create({"LastName": "Holm", "Email": "holm@example.dk"})["id"]
    gone = sf.Contact.create({"LastName": "Lund", "Email": "lund@example.dk"})["id"]
    sf.Contact.delete(gone)
    soql = format_soql("SELECT Id, IsDeleted FROM Contact WHERE SystemModstamp >= {}", before)
    assert [r["Id"] for r in sf.query(soql)["records"]] == [kept]
    everything = {
        r["Id"]: r["IsDeleted"] for r in sf.query_all(soql, include_deleted=True)["records"]
    }
    assert everything == {kept: False, gone: True}
    later = datetime.now(UTC) + timedelta(minutes=1)
    newer = format_soql("SELECT Id FROM Contact WHERE SystemModstamp > {}", later)
    assert sf.query(newer)["totalSize"] == 0


# ------------------------------------------------------------------------------ JWT bearer


def _assertion(key: rsa.RSAPrivateKey, emulator: SalesforceEmulator, audience: str) -> str:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    claims = {
        "iss": emulator.client_id,
        "sub": emulator.username,
        "aud": audience,
        "exp": int(time.time()) + 180,
    }
    return jwt.encode(claims, pem, algorithm="RS256")


def test_jwt_bearer_needs_salesforces_audience_and_the_apps_certificate(
    emulator: SalesforceEmulator, session: requests.Session
) -> None:
    """Salesforce takes aud https://login.salesforce.com (https://test.salesforce.com for a
    sandbox), never the My Domain URL the token request goes to; and checks the signature
    against the certificate uploaded to the connected app."""
    ca = trustme.CA(key_type=trustme.KeyType.RSA)  # Salesforce signs with RS256
    certificate = ca.issue_cert("intake.bl.dk", key_type=trustme.KeyType.RSA)
    key = serialization.load_pem_private_key(certificate.private_key_pem.bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    emulator.jwt_public_key_pem = certificate.cert_chain_pems[0].bytes()

    def token(assertion: str) -> requests.Response:
        return session.post(
            emulator.url + "/services/oauth2/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
            timeout=10,
        )

    try:
        assert token(_assertion(key, emulator, "https://login.salesforce.com")).status_code == 200
        for audience in (
            emulator.url,
            "https://bl.my.salesforce.com",
            "https://test.salesforce.com",
        ):
            refused = token(_assertion(key, emulator, audience))
            assert refused.json() == {
                "error": "invalid_grant",
                "error_description": "audience is invalid",
            }
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = token(_assertion(other_key, emulator, "https://login.salesforce.com"))
        assert forged.json()["error_description"] == "invalid assertion"

        emulator.org.sandbox = True
        assert token(_assertion(key, emulator, "https://test.salesforce.com")).status_code == 200
        assert token(_assertion(key, emulator, "https://login.salesforce.com")).status_code == 400
    finally:
        emulator.jwt_public_key_pem = None


# ------------------------------------------------------------------------------ daily allowance


def test_the_daily_allowance_is_a_rolling_24_hours(
    emulator: SalesforceEmulator, sf: Salesforce, session: requests.Session
) -> None:
    emulator.daily_api_limit = 3
    for _ in range(3):
        sf.query("SELECT Id FROM Lead")
    assert sf.api_usage["api-usage"].used == 3
    for _ in range(2):
        with pytest.raises(SalesforceRefusedRequest) as refused:
            sf.query("SELECT Id FROM Lead")
        assert refused.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
    assert emulator.api_usage() == 3  # the refused requests do not count
    moved = session.post(emulator.url + "/_emulator/clock", json={"advance_seconds": 23 * 3600})
    assert moved.status_code == 204
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Lead")
    emulator.advance_clock(3600)  # the first three requests leave the window
    assert sf.query("SELECT Id FROM Lead")["done"] is True
    assert sf.api_usage["api-usage"].used == 1


# ------------------------------------------------------------------------------ maintenance


def test_read_only_maintenance_refuses_every_write(
    emulator: SalesforceEmulator, sf: Salesforce, session: requests.Session
) -> None:
    lead_id = sf.Lead.create(_lead())["id"]
    switched = session.post(emulator.url + "/_emulator/org", json={"maintenance": True}, timeout=10)
    assert switched.json()["maintenance"] is True

    code = "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE"
    for write in (
        lambda: sf.Lead.create(_lead(Email="bo@example.dk")),
        lambda: sf.Lead.update(lead_id, {"City": "Marstal"}),
        lambda: sf.Lead.delete(lead_id),
        lambda: _upsert(sf, "m-1"),
    ):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            write()
        assert refused.value.content[0]["errorCode"] == code
    records = [{"attributes": {"type": "Lead"}, **_lead(**{EXT: "m-2"})}]
    (result,) = sf.restful(
        f"composite/sobjects/Lead/{EXT}", method="PATCH", json={"records": records}
    )
    assert result["errors"][0]["statusCode"] == code
    # Reads and logins go on.
    assert sf.query("SELECT Id FROM Lead")["totalSize"] == 1
    assert api(emulator, session).limits()["DailyApiRequests"]["Max"] == 15000

    emulator.org.maintenance = False
    assert sf.Lead.create(_lead(Email="bo@example.dk"))["success"] is True


# ------------------------------------------------------------------------------ 429


def test_too_many_requests_is_a_plain_429_with_retry_after(
    emulator: SalesforceEmulator, sf: Salesforce, session: requests.Session
) -> None:
    session.post(
        emulator.url + "/_emulator/faults",
        json={"fault": "too_many_requests", "retry_after": 120},
        timeout=10,
    )
    raw = session.get(f"{emulator.url}/services/data/v{VERSION}/limits/", headers=sf.headers)
    assert (raw.status_code, raw.headers["Retry-After"]) == (429, "120")
    assert raw.text == "Too Many Requests\n"
    emulator.too_many_requests()
    with pytest.raises(SalesforceGeneralError) as throttled:
        sf.query(format_soql("SELECT Id FROM Lead WHERE Email = {}", "aase@example.dk"))
    assert throttled.value.status == 429
    assert sf.query("SELECT Id FROM Lead")["done"] is True


# ------------------------------------------------------------------------------ command line


@pytest.mark.slow
def test_the_command_line_turns_on_the_duplicate_rule_and_makes_a_campaign(tmp_path: Path) -> None:
    args = ("--duplicate-rule", "alert", "--campaign", "Kommunesamarbejde 2026")
    with emulator_process(tmp_path, *args) as running:
        org = running.session.get(running.url + "/_emulator/org", timeout=10).json()
        records = running.session.get(running.url + "/_emulator/records", timeout=10).json()
    assert org["duplicate_rule"] == "alert"
    (campaign,) = records["Campaign"]
    assert campaign["Name"] == "Kommunesamarbejde 2026"
    env = (tmp_path / "emulator.env").read_text()
    assert f"SALESFORCE_CAMPAIGN_ID={campaign['Id']}\n" in env
