"""The local Salesforce emulator, driven by simple-salesforce over real HTTPS on loopback.

No mocks: every test talks to a running `SalesforceEmulator` through a `requests.Session`
that trusts the emulator's throw-away CA. These machines export REQUESTS_CA_BUNDLE and
CURL_CA_BUNDLE, which override `session.verify`, so the sessions set `trust_env = False`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, format_external_id, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from crm_sync.emulator import DEFAULT_OWNER_ID, SalesforceEmulator, TrustmeMissing, soql
from crm_sync.emulator.__main__ import main
from tests.support.emulator_client import (
    VERSION,
    api,
    emulator_process,
    token,
    trusting_session,
)

EXT = "Intake_Submission_Id__c"


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def jwt_key() -> rsa.RSAPrivateKey:
    return _private_key()


@pytest.fixture(scope="module")
def emulator(
    jwt_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SalesforceEmulator]:
    public_pem = jwt_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    emulator = SalesforceEmulator(
        jwt_public_key_pem=public_pem,
        security_token="TOKEN123",
        state_dir=tmp_path_factory.mktemp("sf-emulator"),
    )
    with emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(emulator: SalesforceEmulator) -> None:
    emulator.reset()


_session = trusting_session


class LoginRedirectSession(requests.Session):
    """Sends simple-salesforce's login requests (https://*.salesforce.com) to the emulator."""

    def __init__(self, emulator: SalesforceEmulator) -> None:
        super().__init__()
        self.target = emulator.url
        self.verify = str(emulator.ca_pem_path)
        self.trust_env = False

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        url = re.sub(r"^https://[A-Za-z0-9.-]+\.salesforce\.com", self.target, str(url))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def session(emulator: SalesforceEmulator) -> Iterator[requests.Session]:
    with _session(emulator) as session:
        yield session


@pytest.fixture
def sf(emulator: SalesforceEmulator, session: requests.Session) -> Salesforce:
    return api(emulator, session)


def _lead(**fields: Any) -> dict[str, Any]:
    return {"LastName": "Jensen", "Company": "Kolonihaveforeningen Solsikken", **fields}


# ------------------------------------------------------------------------------------ login


def test_client_credentials_token(emulator: SalesforceEmulator, session: requests.Session) -> None:
    url = emulator.url + "/services/oauth2/token"
    ok = session.post(
        url, data={"grant_type": "client_credentials"}, auth=("intake-emulator", "emulator-secret")
    )
    assert ok.status_code == 200
    body = ok.json()
    assert body["instance_url"] == emulator.url
    assert body["token_type"] == "Bearer"
    assert {"access_token", "id", "issued_at", "signature"} <= body.keys()

    in_form = session.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": "intake-emulator",
            "client_secret": "emulator-secret",
        },
    )
    assert in_form.status_code == 200

    bad_secret = session.post(
        url, data={"grant_type": "client_credentials"}, auth=("intake-emulator", "wrong")
    )
    assert bad_secret.status_code == 400
    assert bad_secret.json()["error"] == "invalid_client"
    bad_client = session.post(url, data={"grant_type": "client_credentials"}, auth=("x", "y"))
    assert bad_client.json()["error"] == "invalid_client_id"
    unknown = session.post(url, data={"grant_type": "authorization_code"})
    assert unknown.json()["error"] == "unsupported_grant_type"


def test_api_needs_a_valid_token(emulator: SalesforceEmulator, session: requests.Session) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = session.get(f"{emulator.url}/services/data/v{VERSION}/limits/", headers=headers)
        assert response.status_code == 401
        assert response.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


def test_password_flow_through_simple_salesforce(emulator: SalesforceEmulator) -> None:
    with LoginRedirectSession(emulator) as session:
        sf = Salesforce(
            username=emulator.username,
            password=emulator.password + emulator.security_token,
            consumer_key=emulator.client_id,
            consumer_secret=emulator.client_secret,
            session=session,
            version=VERSION,
        )
        assert sf.sf_instance == emulator.url.removeprefix("https://")
        assert sf.limits()["DailyApiRequests"]["Max"] == 15000
        with pytest.raises(SalesforceAuthenticationFailed) as failed:
            Salesforce(
                username=emulator.username,
                password=emulator.password,  # the security token is missing
                consumer_key=emulator.client_id,
                consumer_secret=emulator.client_secret,
                session=session,
                version=VERSION,
            )
        assert failed.value.code == "invalid_grant"


def test_client_credentials_through_simple_salesforce(emulator: SalesforceEmulator) -> None:
    with LoginRedirectSession(emulator) as session:
        sf = Salesforce(
            consumer_key=emulator.client_id,
            consumer_secret=emulator.client_secret,
            domain="bl-emulator.my",
            session=session,
            version=VERSION,
        )
        assert sf.query("SELECT Id FROM Lead")["totalSize"] == 0


def test_jwt_bearer_flow(emulator: SalesforceEmulator, jwt_key: rsa.RSAPrivateKey) -> None:
    with LoginRedirectSession(emulator) as session:
        sf = Salesforce(
            username=emulator.username,
            consumer_key=emulator.client_id,
            privatekey=_pem(jwt_key),
            session=session,
            version=VERSION,
        )
        assert sf.limits()["DailyApiRequests"]["Max"] == 15000

        for key, user in ((_private_key(), emulator.username), (jwt_key, "someone@else.dk")):
            with pytest.raises(SalesforceAuthenticationFailed) as failed:
                Salesforce(
                    username=user,
                    consumer_key=emulator.client_id,
                    privatekey=_pem(key),
                    session=session,
                    version=VERSION,
                )
            assert failed.value.code == "invalid_grant"

        expired = jwt.encode(
            {
                "iss": emulator.client_id,
                "sub": emulator.username,
                "aud": "https://login.salesforce.com",
                "exp": int(time.time()) - 60,
            },
            _pem(jwt_key),
            algorithm="RS256",
        )
        response = session.post(
            emulator.url + "/services/oauth2/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": expired,
            },
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


# ------------------------------------------------------------------------------------ sObjects


def test_upsert_creates_then_updates_one_record(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    record_id = format_external_id(EXT, "sub-0001")
    no_assign = {"Sforce-Auto-Assign": "FALSE"}
    assert sf.Lead.upsert(record_id, _lead(Email="anna@example.dk"), headers=no_assign) == 201
    assert sf.Lead.upsert(record_id, _lead(FirstName="Anna", Company="Ny forening")) == 200

    (lead,) = emulator.records["Lead"].values()
    assert lead[EXT] == "sub-0001"
    assert (lead["FirstName"], lead["Company"]) == ("Anna", "Ny forening")
    assert lead["Email"] == "anna@example.dk"
    assert lead["Status"] == "Open - Not Contacted"
    assert lead["OwnerId"] == DEFAULT_OWNER_ID
    assert lead["IsConverted"] is False
    assert emulator.auto_assign_headers[lead["Id"]] is None  # the update sent no header

    response = sf.Lead.upsert(record_id, _lead(), raw_response=True, headers=no_assign)
    assert response.json() == {"id": lead["Id"], "success": True, "errors": [], "created": False}
    assert emulator.auto_assign_headers[lead["Id"]] == "FALSE"


def test_upsert_answers_like_old_api_versions(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    old = Salesforce(
        instance_url=emulator.url, session_id=sf.session_id, session=sf.session, version="45.0"
    )
    created = old.Lead.upsert(format_external_id(EXT, "old"), _lead(), raw_response=True)
    assert created.status_code == 201
    assert "created" not in created.json()
    assert old.Lead.upsert(format_external_id(EXT, "old"), _lead()) == 204


def test_external_id_with_odd_characters(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    value = "a b/c#d?e%f&g+h=æ"
    assert sf.Lead.upsert(format_external_id(EXT, value), _lead()) == 201
    assert sf.Lead.upsert(format_external_id(EXT, value), _lead(City="Aarhus")) == 200
    (lead,) = emulator.records["Lead"].values()
    assert lead[EXT] == value
    assert lead["City"] == "Aarhus"
    emulator.add_record("Lead", _lead(**{EXT: "x/y#z?"}))
    assert sf.Lead.get_by_custom_id(EXT, "x/y#z?")[EXT] == "x/y#z?"

    # Without format_external_id the "/" splits the path and "#…" is dropped.
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.upsert(f"{EXT}/a b/c#d", _lead())


def test_update_only_and_collection_delete(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    url = f"sobjects/Lead/{format_external_id(EXT, 'only')}?updateOnly=true"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful(url, method="PATCH", json=_lead())
    ids = [sf.Lead.create(_lead())["id"] for _ in range(2)]
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": ",".join([*ids, ids[0]])}
    )
    assert [r["success"] for r in deleted] == [True, True, False]
    assert emulator.records["Lead"] == {}


def test_email_address_internationalization_option() -> None:
    with SalesforceEmulator(email_internationalization=True) as eai, _session(eai) as session:
        sf = Salesforce(
            instance_url=eai.url, session_id=token(eai, session), session=session, version=VERSION
        )
        assert sf.Lead.create(_lead(Email="søren@hjem.dk"))["success"]
        with pytest.raises(SalesforceMalformedRequest):
            sf.Lead.create(_lead(Email="søren@hjem"))


def test_upsert_matching_several_records_answers_300(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    for _ in range(2):
        emulator.add_record("Lead", _lead(**{EXT: "dup"}))
    with pytest.raises(SalesforceMoreThanOneRecord) as several:
        sf.Lead.upsert(format_external_id(EXT, "dup"), _lead())
    assert len(several.value.content) == 2


def test_create_get_update_delete(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    created = sf.Lead.create(_lead(Email="ole@example.dk"))
    assert created["success"] is True
    lead_id = created["id"]
    assert lead_id.startswith("00Q")
    assert len(lead_id) == 18

    fetched = sf.Lead.get(lead_id)
    assert fetched["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v{VERSION}/sobjects/Lead/{lead_id}",
    }
    assert sf.Lead.get(lead_id[:15])["Id"] == lead_id  # 15-character ids work too
    assert sf.Lead.update(lead_id, {"Phone": "+45 12 34 56 78"}) == 204
    assert emulator.records["Lead"][lead_id]["Phone"] == "+45 12 34 56 78"
    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(lead_id)


def test_validation_errors(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    def error_of(data: dict[str, Any], sobject: str = "Lead") -> dict[str, Any]:
        with pytest.raises(SalesforceMalformedRequest) as failed:
            getattr(sf, sobject).create(data)
        return dict(failed.value.content[0])

    too_long = error_of(_lead(LastName="x" * 81))
    assert too_long["errorCode"] == "STRING_TOO_LONG"
    assert too_long["fields"] == ["LastName"]
    assert sf.Lead.create(_lead(LastName="æ" * 80))["success"]  # lengths count characters

    missing = error_of({"LastName": "Jensen"})
    assert missing["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert missing["fields"] == ["Company"]
    assert error_of({"Company": ""})["fields"] == ["LastName", "Company"]
    assert error_of(_lead(Email="not-an-address"))["errorCode"] == "INVALID_EMAIL_ADDRESS"
    assert error_of(_lead(Email="søren@hjem.dk"))["errorCode"] == "INVALID_EMAIL_ADDRESS"
    unknown = error_of(_lead(Kreds__c="Østjylland"))
    assert unknown == {
        "message": "No such column 'Kreds__c' on sobject of type Lead",
        "errorCode": "INVALID_FIELD",
        "fields": [],
    }
    assert error_of(_lead(IsConverted=True))["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error_of(_lead(CountryCode="XX"))["errorCode"] == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    )
    assert error_of(_lead(OwnerId="00Q000000000001"))["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"

    lead_id = sf.Lead.create(_lead())["id"]
    campaign_id = emulator.add_record("Campaign", {"Name": "Haver til alle"})
    assert error_of({"LeadId": lead_id}, "CampaignMember")["errorCode"] == (
        "REQUIRED_FIELD_MISSING"
    )
    assert (
        error_of({"CampaignId": "nonsense", "LeadId": lead_id}, "CampaignMember")["errorCode"]
        == "MALFORMED_ID"
    )
    missing_campaign = campaign_id[:3] + "Zz" + campaign_id[5:15]
    assert (
        error_of({"CampaignId": missing_campaign, "LeadId": lead_id}, "CampaignMember")["errorCode"]
        == "INVALID_CROSS_REFERENCE_KEY"
    )
    assert error_of({"Subject": "Ring op", "WhoId": campaign_id}, "Task")["errorCode"] == (
        "FIELD_INTEGRITY_EXCEPTION"
    )
    sf.CampaignMember.create({"CampaignId": campaign_id, "LeadId": lead_id})
    assert (
        error_of({"CampaignId": campaign_id, "LeadId": lead_id}, "CampaignMember")["errorCode"]
        == "DUPLICATE_VALUE"
    )

    emulator.add_field("Lead", "Kreds__c", length=10)
    assert sf.Lead.create(_lead(Kreds__c="Østjylland"))["success"]


def test_danish_text_round_trip(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    text = {
        "FirstName": "Søren",
        "LastName": "Ærøskøbing-Ågård",
        "Company": "Haveforeningen Æblehaven – afd. Øst",
        "City": "Aabenraa",
        "Street": "Æbletoften 7, 1. th.\nBaghuset",
        "Description": "Kommune: Høje-Taastrup\nKreds: Østsjælland «ny» ✓",
    }
    lead_id = sf.Lead.create(text)["id"]
    fetched = sf.Lead.get(lead_id)
    assert {k: fetched[k] for k in text} == text
    found = sf.query(
        format_soql("SELECT Id, LastName FROM Lead WHERE LastName = {}", "ærøskøbing-ågård")
    )
    assert [r["LastName"] for r in found["records"]] == [text["LastName"]]
    assert emulator.records["Lead"][lead_id]["Company"] == text["Company"]


def test_describe(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert fields["LastName"]["length"] == 80
    assert fields["LastName"]["nillable"] is False
    assert fields["Company"]["length"] == 255
    assert fields["Email"]["type"] == "email"
    assert fields["IsConverted"]["createable"] is False
    assert fields[EXT]["externalId"] is True
    assert fields[EXT]["unique"] is True
    assert "Open - Not Contacted" in [v["value"] for v in fields["Status"]["picklistValues"]]
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"Lead", "Contact", "Task", "Campaign", "CampaignMember"} <= names
    with pytest.raises(SalesforceResourceNotFound):
        sf.Opportunity.describe()


def test_converted_leads(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    sf.Lead.upsert(format_external_id(EXT, "sub-9"), _lead(Email="kim@example.dk"))
    (lead_id,) = emulator.records["Lead"]
    contact_id = emulator.convert_lead(lead_id)
    lead = emulator.records["Lead"][lead_id]
    assert (lead["IsConverted"], lead["ConvertedContactId"]) == (True, contact_id)
    assert emulator.records["Contact"][contact_id]["Email"] == "kim@example.dk"
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.Lead.upsert(format_external_id(EXT, "sub-9"), _lead())
    assert failed.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    open_leads = sf.query("SELECT Id FROM Lead WHERE IsConverted = false")
    assert open_leads["totalSize"] == 0


def test_converting_a_lead_over_http(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    lead_id = sf.Lead.create(_lead(Email="kim@example.dk"))["id"]
    with _session(emulator) as other_process:
        converted = other_process.post(f"{emulator.url}/_emulator/leads/{lead_id}/convert")
        unknown = other_process.post(f"{emulator.url}/_emulator/leads/00QEm0000000999AAA/convert")
    assert converted.status_code == 200
    contact_id = converted.json()["contactId"]
    assert sf.Lead.get(lead_id)["IsConverted"] is True
    assert sf.Contact.get(contact_id)["Email"] == "kim@example.dk"
    assert unknown.status_code == 404


def test_finding_and_deleting_the_unconverted_leads_of_some_external_ids(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    """What an erasure does: look the leads up by external id, delete those not converted."""
    ids = {ext: sf.Lead.create(_lead(**{EXT: ext}))["id"] for ext in "abc"}
    emulator.convert_lead(ids["b"])
    found = sf.query(
        format_soql(
            "SELECT Id, IsConverted, {ext:literal} FROM Lead WHERE {ext:literal} IN {values}",
            ext=EXT,
            values=["a", "b", "missing"],
        )
    )["records"]
    assert sorted((r[EXT], r["IsConverted"]) for r in found) == [("a", False), ("b", True)]
    unconverted = [r["Id"] for r in found if not r["IsConverted"]]
    deleted = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": ",".join([*unconverted, unconverted[0]]), "allOrNone": "false"},
    )
    assert [r["success"] for r in deleted] == [True, False]
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"  # already gone
    assert set(emulator.records["Lead"]) == {ids["b"], ids["c"]}


def test_deleting_a_lead_deletes_its_tasks_and_campaign_memberships(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    campaign_id = emulator.add_record("Campaign", {"Name": "Haver til alle"})
    lead_id, other_id = (sf.Lead.create(_lead())["id"] for _ in range(2))
    for who in (lead_id, other_id):
        sf.Task.create({"Subject": "Ring op", "WhoId": who})
        sf.CampaignMember.create({"CampaignId": campaign_id, "LeadId": who})
    sf.Lead.delete(lead_id)
    assert [t["WhoId"] for t in emulator.records["Task"].values()] == [other_id]
    assert [m["LeadId"] for m in emulator.records["CampaignMember"].values()] == [other_id]
    assert campaign_id in emulator.records["Campaign"]


# ------------------------------------------------------------------------------------ Composite


def _composite(campaign_id: str, *, company: str = "Solsikken", all_or_none: bool = False) -> dict:
    base = f"/services/data/v{VERSION}/sobjects"
    return {
        "allOrNone": all_or_none,
        "compositeRequest": [
            {
                "method": "PATCH",
                "url": f"{base}/Lead/{format_external_id(EXT, 'sub-c1')}",
                "referenceId": "lead",
                "body": _lead(Company=company),
                "httpHeaders": {"Sforce-Auto-Assign": "FALSE"},
            },
            {
                "method": "POST",
                "url": f"{base}/Task/",
                "referenceId": "task",
                "body": {"Subject": "Ring til ny interesseret", "WhoId": "@{lead.id}"},
            },
            {
                "method": "POST",
                "url": f"{base}/CampaignMember/",
                "referenceId": "member",
                "body": {"CampaignId": campaign_id, "LeadId": "@{lead.id}"},
            },
        ],
    }


def test_composite_is_one_api_request(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    campaign_id = emulator.add_record("Campaign", {"Name": "Haver til alle"})
    before = emulator.api_request_count()
    result = sf.restful("composite", method="POST", json=_composite(campaign_id))
    assert emulator.api_request_count() == before + 1
    assert sf.api_usage["api-usage"].used == emulator.api_request_count()

    lead, task, member = result["compositeResponse"]
    assert [r["httpStatusCode"] for r in (lead, task, member)] == [201, 201, 201]
    lead_id = lead["body"]["id"]
    assert lead["body"]["created"] is True
    assert lead["httpHeaders"]["Location"].endswith(lead_id)
    assert emulator.records["Task"][task["body"]["id"]]["WhoId"] == lead_id
    assert emulator.records["Task"][task["body"]["id"]]["Status"] == "Not Started"
    assert emulator.records["CampaignMember"][member["body"]["id"]]["LeadId"] == lead_id
    assert emulator.auto_assign_headers[lead_id] == "FALSE"
    assert emulator.requests[-1].path == f"/services/data/v{VERSION}/composite"

    again = sf.restful("composite", method="POST", json=_composite(campaign_id))
    lead, task, member = again["compositeResponse"]
    assert (lead["httpStatusCode"], lead["body"]["created"]) == (200, False)
    assert member["body"][0]["errorCode"] == "DUPLICATE_VALUE"


def test_composite_all_or_none_rolls_back(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    bad_campaign = emulator.add_record("Contact", {"LastName": "Ikke en kampagne"})
    result = sf.restful("composite", method="POST", json=_composite(bad_campaign, all_or_none=True))
    lead, task, member = result["compositeResponse"]
    assert member["httpStatusCode"] == 400
    assert member["body"][0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    for halted in (lead, task):
        assert halted["httpStatusCode"] == 400
        assert halted["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert emulator.records["Lead"] == {}
    assert emulator.records["Task"] == {}


def test_composite_reference_to_a_failed_subrequest(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    campaign_id = emulator.add_record("Campaign", {"Name": "Haver til alle"})
    result = sf.restful("composite", method="POST", json=_composite(campaign_id, company=""))
    lead, task, member = result["compositeResponse"]
    assert lead["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for halted in (task, member):
        assert halted["httpStatusCode"] == 400
        assert halted["body"][0]["errorCode"] == "PROCESSING_HALTED"
        assert "lead.id" in halted["body"][0]["message"]


def test_composite_rejects_more_than_25_subrequests(sf: Salesforce) -> None:
    request = {
        "method": "GET",
        "url": f"/services/data/v{VERSION}/limits/",
        "referenceId": "x",
    }
    subrequests = [{**request, "referenceId": f"r{i}"} for i in range(26)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": subrequests})
    ok = sf.restful("composite", method="POST", json={"compositeRequest": subrequests[:25]})
    assert len(ok["compositeResponse"]) == 25


# ------------------------------------------------------------------------------------ Collections


def _records(*leads: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Lead"}, **lead} for lead in leads]


def test_collections_upsert_with_one_failure(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    emulator.add_record("Lead", _lead(**{EXT: "c-3"}))
    records = _records(
        _lead(**{EXT: "c-1"}),
        _lead(**{EXT: "c-2", "LastName": "x" * 81}),
        _lead(**{EXT: "c-3", "City": "Odense"}),
    )
    path = f"composite/sobjects/Lead/{EXT}"
    results = sf.restful(path, method="PATCH", json={"allOrNone": False, "records": records})
    first, second, third = results
    assert (first["success"], first["created"]) == (True, True)
    assert second["success"] is False
    assert second["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert second["errors"][0]["fields"] == ["LastName"]
    assert (third["success"], third["created"]) == (True, False)
    assert sorted(r[EXT] for r in emulator.records["Lead"].values()) == ["c-1", "c-3"]

    records[0][EXT] = "c-4"
    rolled = sf.restful(path, method="PATCH", json={"allOrNone": True, "records": records})
    assert [r["success"] for r in rolled] == [False, False, False]
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert rolled[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sorted(r[EXT] for r in emulator.records["Lead"].values()) == ["c-1", "c-3"]


def test_collections_create_and_malformed_requests(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    lead_id = sf.Lead.create(_lead())["id"]
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {"attributes": {"type": "Task"}, "Subject": "Send pjecer", "WhoId": lead_id},
                {"attributes": {"type": "Contact"}, "LastName": "Hansen"},
            ]
        },
    )
    assert [r["success"] for r in created] == [True, True]
    assert created[0]["id"].startswith("00T")

    path = f"composite/sobjects/Lead/{EXT}"
    too_many = _records(*(_lead(**{EXT: f"n-{i}"}) for i in range(201)))
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful(path, method="PATCH", json={"records": too_many})
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful(path, method="PATCH", json={"records": [_lead(**{EXT: "no-attributes"})]})
    duplicate = sf.restful(
        path, method="PATCH", json={"records": _records(_lead(**{EXT: "d"}), _lead(**{EXT: "D"}))}
    )
    assert [r["errors"][0]["statusCode"] for r in duplicate] == ["DUPLICATE_EXTERNAL_ID"] * 2


# ------------------------------------------------------------------------------------ SOQL


def test_soql_duplicate_check(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    for email in ("anna@example.dk", "o'brien@example.dk", "bo@example.dk"):
        sf.Lead.create(_lead(Email=email))
    found = sf.query(
        format_soql(
            "SELECT Id, Email, IsConverted FROM Lead WHERE Email = {} AND IsConverted = false",
            "ANNA@Example.DK",
        )
    )
    assert found["totalSize"] == 1
    (record,) = found["records"]
    assert record["Email"] == "anna@example.dk"
    assert set(record) == {"attributes", "Id", "Email", "IsConverted"}
    assert record["attributes"]["type"] == "Lead"

    quoted = sf.query(format_soql("SELECT Id FROM Lead WHERE Email = {}", "O'Brien@example.dk"))
    assert quoted["totalSize"] == 1
    several = sf.query(
        format_soql(
            "SELECT Email FROM Lead WHERE Email IN {} ORDER BY Email DESC LIMIT 5",
            ["bo@example.dk", "anna@example.dk", "nobody@example.dk"],
        )
    )
    assert [r["Email"] for r in several["records"]] == ["bo@example.dk", "anna@example.dk"]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 3

    for bad in ("SELECT Id FROM Lead WHERE Email = 'a' OR Email = 'b'", "DELETE Lead"):
        with pytest.raises(SalesforceMalformedRequest) as failed:
            sf.query(bad)
        assert failed.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.query("SELECT Nope__c FROM Lead")
    assert failed.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_soql_subset_parser() -> None:
    query = soql.parse(
        "select Id, Email from Lead where Email = 'o\\'brien@x.dk' and Status NOT IN "
        "('Closed - Converted', null) and LastName like 'Hans\\_en%' order by Email desc limit 2"
    )
    assert (query.sobject, query.fields, query.limit) == ("Lead", ("Id", "Email"), 2)
    email, status, name = query.where
    assert (email.op, email.value) == ("=", "o'brien@x.dk")
    assert (status.op, status.value) == ("NOT IN", ("Closed - Converted", None))
    assert soql.compare(name, "hans_enby")
    assert not soql.compare(name, "hansXen")  # \_ is a literal underscore
    assert soql.compare(status, None)  # SOQL: NOT IN keeps nulls
    assert query.order_by == soql.OrderBy("Email", descending=True)
    for unsupported in (
        "SELECT Id FROM Lead WHERE (Email = 'a')",
        "SELECT Owner.Name FROM Lead",
        "SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01",
        "SELECT Id FROM Lead LIMIT",
        "SELECT Id FROM Lead WHERE Email = 'a\\x'",
    ):
        with pytest.raises(soql.SoqlError):
            soql.parse(unsupported)


# ------------------------------------------------------------------------------------ faults


def test_expired_session(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    sf.limits()
    emulator.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.limits()
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    sf.session_id = token(emulator, sf.session)
    sf.headers["Authorization"] = "Bearer " + sf.session_id
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000


def test_simple_salesforce_relogin_drops_custom_headers(emulator: SalesforceEmulator) -> None:
    """The emulator shows simple-salesforce 1.12.10's bug 1 (notes §3): headers lost on retry."""
    with LoginRedirectSession(emulator) as session:
        sf = Salesforce(
            username=emulator.username,
            password=emulator.password + emulator.security_token,
            consumer_key=emulator.client_id,
            consumer_secret=emulator.client_secret,
            session=session,
            version=VERSION,
        )
        emulator.expire_sessions()
        status = sf.Lead.upsert(
            format_external_id(EXT, "after-relogin"),
            _lead(),
            headers={"Sforce-Auto-Assign": "FALSE"},
        )
    assert status == 201
    first, retry = emulator.requests[-2:]
    assert (first.status, retry.status) == (401, 201)
    assert first.headers["Sforce-Auto-Assign"] == "FALSE"
    assert "Sforce-Auto-Assign" not in retry.headers
    (lead_id,) = emulator.records["Lead"]
    assert emulator.auto_assign_headers[lead_id] is None


def test_server_errors(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    emulator.fail_next()
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf.Lead.upsert(format_external_id(EXT, "e-1"), _lead())
    assert unavailable.value.status == 503
    assert unavailable.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert emulator.records["Lead"] == {}  # a failed request did no work

    emulator.fail_next(status=500, error_code="UNKNOWN_EXCEPTION", message="An unexpected error")
    with pytest.raises(SalesforceGeneralError) as unknown:
        sf.limits()
    assert (unknown.value.status, unknown.value.content[0]["errorCode"]) == (
        500,
        "UNKNOWN_EXCEPTION",
    )
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000  # only the next request fails


def test_request_limit_exceeded(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    emulator.limit_exceeded(n=2)
    for _ in range(2):
        with pytest.raises(SalesforceRefusedRequest) as refused:
            sf.query("SELECT Id FROM Lead")
        assert refused.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
    assert sf.query("SELECT Id FROM Lead")["done"] is True


def test_delay_makes_the_client_time_out_after_the_work(
    emulator: SalesforceEmulator, sf: Salesforce
) -> None:
    emulator.delay_next(1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.restful("limits/", timeout=0.2)

    emulator.delay_next(1.0)
    url = f"{emulator.url}/services/data/v{VERSION}/sobjects/Lead/{EXT}/late"
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.session.patch(url, json=_lead(), headers=sf.headers, timeout=0.2)
    (lead,) = emulator.records["Lead"].values()  # Salesforce did the work anyway
    assert lead[EXT] == "late"


def test_faults_over_http(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    response = sf.session.post(emulator.url + "/_emulator/faults", json={"fault": "limit_exceeded"})
    assert response.status_code == 204
    with pytest.raises(SalesforceRefusedRequest):
        sf.limits()
    sf.session.post(emulator.url + "/_emulator/faults", json={"fault": "expire_sessions"})
    with pytest.raises(SalesforceExpiredSession):
        sf.limits()


# ------------------------------------------------------------------------------------ usage


def test_api_usage_header(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    sf.Lead.create(_lead())
    limits = sf.restful("limits/")
    used = emulator.api_request_count()
    assert sf.api_usage["api-usage"].used == used
    assert sf.api_usage["api-usage"].total == 15000
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - used}
    assert [r.method for r in emulator.requests] == ["POST", "GET"]


def test_records_and_requests_as_json(emulator: SalesforceEmulator, sf: Salesforce) -> None:
    sf.Lead.upsert(format_external_id(EXT, "j-1"), _lead(FirstName="Åse"))
    with _session(emulator) as anonymous:
        records = anonymous.get(emulator.url + "/_emulator/records").json()
        log = anonymous.get(emulator.url + "/_emulator/requests").json()
    (lead,) = records["Lead"]
    assert (lead["FirstName"], lead[EXT]) == ("Åse", "j-1")
    assert log[-1]["method"] == "PATCH"
    assert log[-1]["status"] == 201
    assert log[-1]["body"]["FirstName"] == "Åse"
    assert sf.session_id not in json.dumps(log)  # tokens are not shown


# ------------------------------------------------------------------------------------ CLI


@pytest.mark.slow
def test_command_line(tmp_path: Path) -> None:
    def run() -> tuple[str, bytes]:
        with emulator_process(tmp_path) as running:
            assert running.session.get(running.url + "/_emulator/records", timeout=10).json() == {}
        assert "SALESFORCE_CLIENT_SECRET=emulator-secret\n" in running.banner
        return running.url, (tmp_path / "ca.pem").read_bytes()

    _, first_ca = run()
    _, second_ca = run()
    assert first_ca == second_ca  # the CA in --state-dir is reused
    env = (tmp_path / "emulator.env").read_text()
    assert f"SALESFORCE_CA_BUNDLE={tmp_path / 'ca.pem'}" in env


def test_without_trustme_the_emulator_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)  # as if the emulator extra were missing
    emulator = SalesforceEmulator(state_dir=tmp_path)
    with pytest.raises(TrustmeMissing, match=r"pip install 'bl-intake\[emulator\]'"):
        emulator.start()
    with pytest.raises(RuntimeError, match="not started"):
        _ = emulator.url

    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--state-dir", str(tmp_path), "--quiet"])
    assert exited.value.code == 1
    assert "needs trustme" in capsys.readouterr().err
    assert not (tmp_path / "emulator.env").exists()


def test_the_emulator_imports_nothing_of_the_app() -> None:
    """The benchmarks and other processes run it on its own: no intake, no forms, and nothing
    of crm_sync outside crm_sync.emulator (which is where intake would come in)."""
    script = (
        "import sys, crm_sync.emulator, crm_sync.emulator.__main__\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('intake', 'forms')"
        " or m.startswith('crm_sync.') and not m.startswith('crm_sync.emulator')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
