"""The Salesforce mapping as tables: plain values in, Salesforce fields out."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm_sync.config import Flow, load_config, parse_extra_fields
from crm_sync.mapping import (
    SOURCES,
    campaign_member_for,
    cut,
    danish_phone,
    lead_from_submission,
    task_for,
    working_days_after,
)
from intake.models import OrderLine, Submission, SubmissionKind
from tests.support.settings import SALESFORCE_SETTINGS

NO_OWNER = None  # the consultant has no Salesforce user: assignment rules choose
OWNER = "005000000000SMAAAA"  # the consultant's Salesforce User Id


def order(**fields) -> Submission:
    values = {
        "public_id": "f" * 32,
        "reference": "PJ-2026-00042",
        "kind": SubmissionKind.PAMPHLET_ORDER,
        "organisation": "Boligforeningen Ærøhøj",
        "first_name": "Søren",
        "last_name": "Ågård",
        "email": "soeren@ærøhøj.dk",
        "phone": "33762040",
        "role": "Formand",
        "cvr": "",
        "municipality_code": "657",
        "municipality_name": "Herning",
        "kreds": 7,
        "street": "Æblevej 3",
        "postcode": "7400",
        "city": "Herning",
        "note": "",
        "created_at": datetime(2026, 11, 25, 12, tzinfo=UTC),
        "topics": [],
    }
    submission = Submission(**{**values, **fields})
    submission.lines = [OrderLine(title="Kommunesamarbejde – Hvorfor og hvordan?", quantity=25)]
    return submission


@pytest.mark.parametrize(
    ("value", "length", "expected"),
    [
        ("Ærø", 80, "Ærø"),
        ("Æ" * 81, 80, "Æ" * 80),
        ("abcde\u0301f", 5, "abcd"),  # never split e from its combining accent
        ("abcde\u0301f", 6, "abcde\u0301"),
    ],
)
def test_cut_keeps_whole_characters(value, length, expected):
    assert cut(value, length) == expected


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("LastName", "Ø" * 100, 80),
        ("FirstName", "Å" * 50, 40),
        ("Company", "æ" * 300, 255),
        ("City", "Ærøskøbing " * 5, 40),
        ("Title", "Formand " * 20, 128),
    ],
)
def test_values_are_cut_to_salesforces_lengths(field, value, limit):
    source = {
        "LastName": "last_name",
        "FirstName": "first_name",
        "Company": "organisation",
        "City": "city",
        "Title": "role",
    }[field]
    lead = lead_from_submission(order(**{source: value}), NO_OWNER)
    assert lead[field] == value[:limit]


def test_a_pamphlet_order_as_a_lead():
    lead = lead_from_submission(order(), NO_OWNER, lead_source="BL Intake")
    assert lead == {
        "Company": "Boligforeningen Ærøhøj",
        "FirstName": "Søren",
        "LastName": "Ågård",
        "Email": "soeren@xn--rhj-xla5gb.dk",
        "Phone": "+45 33 76 20 40",
        "Title": "Formand",
        "Street": "Æblevej 3",
        "PostalCode": "7400",
        "City": "Herning",
        "CountryCode": "DK",
        "LeadSource": "BL Intake",
        "Description": "Pjecebestilling PJ-2026-00042 via BL Intake.\n"
        "Kommune: Herning Kommune (657), 7. kreds\n"
        "Bestilt:\n- 25 stk. Kommunesamarbejde – Hvorfor og hvordan?",
    }  # the external id is not a field to write: the upsert's URL names it


@pytest.mark.parametrize(
    ("code", "short", "official"),
    [
        ("101", "København", "Københavns Kommune"),
        ("400", "Bornholm", "Bornholms Regionskommune"),
        ("657", "Herning", "Herning Kommune"),
    ],
)
def test_the_description_names_the_municipality_officially(code, short, official):
    submission = order(municipality_code=code, municipality_name=short)
    lead = lead_from_submission(
        submission,
        None,
        extra_fields={"Kommune__c": "municipality_name", "Navn__c": "municipality_official_name"},
    )
    assert f"Kommune: {official} ({code}), 7. kreds\n" in lead["Description"]
    assert (lead["Kommune__c"], lead["Navn__c"]) == (short, official)  # the list's and the full


def test_the_owner_and_extra_fields():
    lead = lead_from_submission(
        order(),
        OWNER,
        extra_fields={"Kommune__c": "municipality_name", "Kreds__c": "kreds"},
    )
    assert (lead["OwnerId"], lead["Kommune__c"], lead["Kreds__c"]) == (
        "005000000000SMAAAA",
        "Herning",
        7,
    )
    with pytest.raises(KeyError, match="unknown Lead field source 'kommune'"):
        lead_from_submission(order(), OWNER, extra_fields={"K__c": "kommune"})


def startup_request() -> Submission:
    help_request = order(
        kind=SubmissionKind.STARTUP_HELP,
        reference="OH-2026-00007",
        topics=["styringsdialog", "andet"],
        existing_cooperation="unknown",
        message="Hvor begynder vi?",
        street="",
        postcode="",
        city="",
    )
    help_request.lines = []
    return help_request


def test_a_start_up_request_summary_and_task():
    help_request = startup_request()
    lead = lead_from_submission(help_request, NO_OWNER)
    assert "Street" not in lead and "PostalCode" not in lead
    assert lead["Description"].splitlines()[2:] == [
        "Emner: Styringsdialog, Andet",
        "Kommunesamarbejde i dag: Ved ikke",
        "Besked:",
        "Hvor begynder vi?",
    ]
    task = task_for(help_request, OWNER, "00QLEAD", date(2026, 11, 30))
    assert task["Subject"] == "Følg op på OH-2026-00007: Boligforeningen Ærøhøj"
    assert (task["WhoId"], task["OwnerId"], task["ActivityDate"]) == (
        "00QLEAD",
        "005000000000SMAAAA",
        "2026-11-30",
    )
    assert "OwnerId" not in task_for(help_request, NO_OWNER, "00QLEAD", date(2026, 11, 30))


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 11, 25), 3, date(2026, 11, 30)),  # Wednesday → Monday
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Friday → Monday
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # Saturday → Monday
        (date(2026, 11, 23), 5, date(2026, 11, 30)),
    ],
)
def test_working_days_after(start, days, due):
    assert working_days_after(start, days) == due


def test_campaign_member_for_lead_or_contact():
    assert campaign_member_for("701C", "00QL") == {"CampaignId": "701C", "LeadId": "00QL"}
    assert campaign_member_for("701C", "003C") == {"CampaignId": "701C", "ContactId": "003C"}


def test_phone_is_written_the_danish_way():
    assert danish_phone("33762040") == "+45 33 76 20 40"
    assert danish_phone("") == ""


BASE = {"SALESFORCE_LOGIN_URL": "https://bl.my.salesforce.com/", **SALESFORCE_SETTINGS}


@pytest.mark.parametrize(
    ("credentials", "flow"),
    [
        ({}, None),
        ({"SALESFORCE_CLIENT_ID": "c", "SALESFORCE_CLIENT_SECRET": "s"}, Flow.CLIENT_CREDENTIALS),
        (
            {
                "SALESFORCE_CLIENT_ID": "c",
                "SALESFORCE_USERNAME": "u",
                "SALESFORCE_PRIVATE_KEY_FILE": "k.pem",
            },
            Flow.JWT_BEARER,
        ),
        (
            {
                "SALESFORCE_CLIENT_ID": "c",
                "SALESFORCE_CLIENT_SECRET": "s",
                "SALESFORCE_USERNAME": "u",
                "SALESFORCE_PASSWORD": "p",
            },
            Flow.PASSWORD,
        ),
    ],
)
def test_the_login_flow_follows_from_the_credentials(credentials, flow):
    config = load_config({**BASE, **credentials})
    assert (config.flow if config else None) == flow
    if config:
        assert config.login_url == "https://bl.my.salesforce.com"
        assert config.batch_size == 200  # sObject Collections take at most 200


@pytest.mark.parametrize(
    ("credentials", "missing"),
    [
        ({"SALESFORCE_CLIENT_ID": "c"}, "SALESFORCE_CLIENT_SECRET"),
        ({"SALESFORCE_CLIENT_SECRET": "s"}, "SALESFORCE_CLIENT_ID"),
        ({"SALESFORCE_CLIENT_ID": "c", "SALESFORCE_PRIVATE_KEY_FILE": "k"}, "SALESFORCE_USERNAME"),
        (
            {
                "SALESFORCE_CLIENT_ID": "c",
                "SALESFORCE_CLIENT_SECRET": "s",
                "SALESFORCE_USERNAME": "u",
            },
            "SALESFORCE_PASSWORD",
        ),
    ],
)
def test_half_a_configuration_is_refused_naming_what_is_missing(credentials, missing):
    with pytest.raises(RuntimeError, match=missing):
        load_config({**BASE, **credentials})


def test_extra_fields_setting():
    assert parse_extra_fields("Kommune__c=municipality_name, Kreds__c=kreds") == {
        "Kommune__c": "municipality_name",
        "Kreds__c": "kreds",
    }
    with pytest.raises(RuntimeError, match="'Kommune__c' is not 'SalesforceField=source'"):
        parse_extra_fields("Kommune__c")


def test_every_source_gives_a_value_and_unknown_ones_stop_the_app():
    for submission in (order(), startup_request()):
        values = {name: source(submission, "Web") for name, source in SOURCES.items()}
        assert values["lead_source"] == "Web" and values["country_code"] == "DK"
    with pytest.raises(RuntimeError, match="'kommune' is not a source; choose from city, "):
        parse_extra_fields("Kommune__c=kommune")


def test_the_lead_says_in_danish_which_language_the_requester_used():
    english = lead_from_submission(order(language="en"), NO_OWNER, lead_source="BL Intake")
    assert english["Description"].split("\n")[1:3] == [
        "Kommune: Herning Kommune (657), 7. kreds",
        "Sprog: engelsk",
    ]
    danish = lead_from_submission(order(language="da"), NO_OWNER, lead_source="BL Intake")
    assert "Sprog" not in danish["Description"]
