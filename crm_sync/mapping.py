"""A submission as Salesforce records: a Lead, a follow-up Task, a CampaignMember.

Pure functions of plain values and Salesforce field names; no I/O. Which Lead field gets
which value is the table LEAD_FIELDS below; BL's admin adds custom fields with the setting
SALESFORCE_EXTRA_LEAD_FIELDS ("Kommune__c=municipality_name,Kreds__c=kreds"), choosing from
the sources in `lead_sources`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from forms.public import EXISTING_COOPERATION, TOPICS
from intake.email_headers import ascii_address
from intake.models import Submission, SubmissionKind
from intake.routing import Consultant

# What a Lead field can be filled from: the keys of `lead_sources` (a test keeps them equal).
SOURCES = frozenset(
    {
        "organisation",
        "first_name",
        "last_name",
        "email",
        "phone",
        "role",
        "cvr",
        "street",
        "postcode",
        "city",
        "country_code",
        "lead_source",
        "description",
        "reference",
        "municipality_code",
        "municipality_name",
        "kreds",
        "form",
    }
)

# Lead field ← source (a key of `lead_sources`). Empty values are left out.
LEAD_FIELDS: dict[str, str] = {
    "Company": "organisation",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Email": "email",
    "Phone": "phone",
    "Title": "role",
    "Street": "street",
    "PostalCode": "postcode",
    "City": "city",
    "CountryCode": "country_code",
    "LeadSource": "lead_source",
    "Description": "description",
}

# Salesforce's lengths for the standard fields we fill (Lead field reference).
FIELD_LENGTHS: dict[str, int] = {
    "LastName": 80,
    "FirstName": 40,
    "Company": 255,
    "Email": 80,
    "Phone": 40,
    "Title": 128,
    "Street": 255,
    "City": 40,
    "PostalCode": 20,
    "LeadSource": 40,
    "Description": 32000,
    "Subject": 255,
}


def cut(value: str, length: int) -> str:
    """At most `length` characters, never splitting a letter from its combining accent."""
    if len(value) <= length:
        return value
    end = length
    while end > 0 and unicodedata.combining(value[end]):
        end -= 1
    return value[:end]


def description(submission: Submission) -> str:
    """The readable Danish summary a consultant sees on the lead."""
    place = (
        f"{submission.municipality_name} Kommune ({submission.municipality_code}), "
        f"{submission.kreds}. kreds"
    )
    if submission.kind is SubmissionKind.PAMPHLET_ORDER:
        lines = [
            f"Pjecebestilling {submission.reference} via BL Intake.",
            f"Kommune: {place}",
            "Bestilt:",
        ]
        lines += [f"- {line.quantity} stk. {line.title}" for line in submission.lines]
        if submission.note:
            lines += ["Bemærkning:", submission.note]
        return "\n".join(lines)
    topics = dict(TOPICS)
    cooperation = dict(EXISTING_COOPERATION)
    lines = [
        f"Ønske om hjælp til at starte et kommunesamarbejde, {submission.reference} via BL Intake.",
        f"Kommune: {place}",
        "Emner: " + ", ".join(topics.get(t, t) for t in submission.topics),
        "Kommunesamarbejde i dag: "
        + cooperation.get(submission.existing_cooperation, submission.existing_cooperation),
    ]
    if submission.participants:
        lines += ["Andre boligorganisationer, der vil være med:", submission.participants]
    if submission.message:
        lines += ["Besked:", submission.message]
    return "\n".join(lines)


def danish_phone(digits: str) -> str:
    return f"+45 {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}" if digits else ""


def lead_sources(submission: Submission, lead_source: str) -> dict[str, Any]:
    """Every value a Lead field can be filled from, by name."""
    return {
        "organisation": submission.organisation,
        "first_name": submission.first_name,
        "last_name": submission.last_name,
        "email": ascii_address(submission.email),
        "phone": danish_phone(submission.phone),
        "role": submission.role,
        "cvr": submission.cvr,
        "street": submission.street,
        "postcode": submission.postcode,
        "city": submission.city,
        "country_code": "DK",
        "lead_source": lead_source,
        "description": description(submission),
        "reference": submission.reference,
        "municipality_code": submission.municipality_code,
        "municipality_name": submission.municipality_name,
        "kreds": submission.kreds,
        "form": "Pjecer" if submission.kind is SubmissionKind.PAMPHLET_ORDER else "Opstartshjælp",
    }


def lead_from_submission(
    submission: Submission,
    consultant: Consultant,
    *,
    external_id_field: str,
    lead_source: str = "Web",
    extra_fields: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Lead's fields. OwnerId is the consultant's Salesforce user when the routing has
    one; otherwise it is left out and Salesforce's assignment rules choose (see client.py)."""
    sources = lead_sources(submission, lead_source)
    fields: dict[str, Any] = {}
    for name, source in {**LEAD_FIELDS, **(extra_fields or {})}.items():
        if source not in sources:
            raise KeyError(f"unknown Lead field source {source!r} for {name}")
        value = sources[source]
        if value in ("", None):
            continue
        fields[name] = (
            cut(value, FIELD_LENGTHS[name])
            if isinstance(value, str) and name in FIELD_LENGTHS
            else value
        )
    fields[external_id_field] = submission.public_id
    if consultant.salesforce_user_id:
        fields["OwnerId"] = consultant.salesforce_user_id
    return fields


def working_days_after(start: date, days: int) -> date:
    """`days` working days (Monday–Friday) after `start`. Danish public holidays are not
    counted out; a task due on one simply waits a day."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def task_for(
    submission: Submission, consultant: Consultant, who_id: str, due: date
) -> dict[str, Any]:
    """The consultant's follow-up task on the lead (or on the existing contact)."""
    task: dict[str, Any] = {
        "Subject": cut(f"Følg op på {submission.reference}: {submission.organisation}", 255),
        "WhoId": who_id,
        "ActivityDate": due.isoformat(),
        "Status": "Not Started",
        "Priority": "Normal",
        "Description": cut(description(submission), FIELD_LENGTHS["Description"]),
    }
    if consultant.salesforce_user_id:
        task["OwnerId"] = consultant.salesforce_user_id
    return task


def campaign_member_for(campaign_id: str, who_id: str) -> dict[str, Any]:
    """Membership of the campaign, for a lead (00Q…) or an existing contact (003…)."""
    key = "ContactId" if who_id.startswith("003") else "LeadId"
    return {"CampaignId": campaign_id, key: who_id}
