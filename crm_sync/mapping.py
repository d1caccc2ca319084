"""A submission as Salesforce records: a Lead, a follow-up Task, a CampaignMember.

Pure functions of plain values and Salesforce field names; no I/O. Which Lead field gets
which value is the table LEAD_FIELDS below; BL's admin adds custom fields with the setting
SALESFORCE_EXTRA_LEAD_FIELDS ("Kommune__c=municipality_name,Kreds__c=kreds"), choosing from
the sources in SOURCES. The owner of the records is a Salesforce User Id (the consultant's),
or None: then Salesforce's assignment rules choose.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from intake.labels import EXISTING_COOPERATION, LANGUAGES, TOPICS
from intake.models import Submission, SubmissionKind
from intake.reference_data import official_municipality_name
from intake.text import ascii_address

# Lead field ← source (a key of SOURCES). Empty values are left out.
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
    municipality = official_municipality_name(
        submission.municipality_code, submission.municipality_name
    )
    place = f"{municipality} ({submission.municipality_code}), {submission.kreds}. kreds"
    # Said when the requester did not write in Danish ("Sprog: engelsk").
    code = submission.language or "da"  # (a Submission not yet stored has none)
    language = [] if code == "da" else [f"Sprog: {LANGUAGES.get(code, code)}"]
    if submission.kind is SubmissionKind.PAMPHLET_ORDER:
        lines = [
            f"Pjecebestilling {submission.reference} via BL Intake.",
            f"Kommune: {place}",
            *language,
            "Bestilt:",
        ]
        lines += [f"- {line.quantity} stk. {line.title}" for line in submission.lines]
        if submission.note:
            lines += ["Bemærkning:", submission.note]
        return "\n".join(lines)
    lines = [
        f"Ønske om hjælp til at starte et kommunesamarbejde, {submission.reference} via BL Intake.",
        f"Kommune: {place}",
        *language,
        "Emner: " + ", ".join(TOPICS.get(t, t) for t in submission.topics),
        "Kommunesamarbejde i dag: "
        + EXISTING_COOPERATION.get(
            submission.existing_cooperation, submission.existing_cooperation
        ),
    ]
    if submission.participants:
        lines += ["Andre boligorganisationer, der vil være med:", submission.participants]
    if submission.message:
        lines += ["Besked:", submission.message]
    return "\n".join(lines)


def danish_phone(digits: str) -> str:
    return f"+45 {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}" if digits else ""


# What a Lead field can be filled from, by name: each a function of the submission and the
# lead source setting.
SOURCES: dict[str, Callable[[Submission, str], Any]] = {
    "organisation": lambda s, _: s.organisation,
    "first_name": lambda s, _: s.first_name,
    "last_name": lambda s, _: s.last_name,
    "email": lambda s, _: ascii_address(s.email),
    "phone": lambda s, _: danish_phone(s.phone),
    "role": lambda s, _: s.role,
    "cvr": lambda s, _: s.cvr,
    "street": lambda s, _: s.street,
    "postcode": lambda s, _: s.postcode,
    "city": lambda s, _: s.city,
    "country_code": lambda s, _: "DK",
    "lead_source": lambda _, lead_source: lead_source,
    "description": lambda s, _: description(s),
    "reference": lambda s, _: s.reference,
    "municipality_code": lambda s, _: s.municipality_code,
    "municipality_name": lambda s, _: s.municipality_name,  # the short name: "København"
    "municipality_official_name": lambda s, _: official_municipality_name(
        s.municipality_code, s.municipality_name
    ),  # "Københavns Kommune"
    "kreds": lambda s, _: s.kreds,
    "form": lambda s, _: "Pjecer" if s.kind is SubmissionKind.PAMPHLET_ORDER else "Opstartshjælp",
}


def lead_from_submission(
    submission: Submission,
    owner_id: str | None,
    *,
    lead_source: str = "Web",
    extra_fields: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The Lead's fields, for creating it (leads.py never updates a lead). OwnerId is the
    consultant's Salesforce user when the routing has one; otherwise it is left out and
    Salesforce's assignment rules choose. The external-id field is not among them: an upsert
    names it in its URL, sObject Collections in each record (leads.py adds it there)."""
    fields: dict[str, Any] = {}
    for name, source in {**LEAD_FIELDS, **(extra_fields or {})}.items():
        if source not in SOURCES:
            raise KeyError(f"unknown Lead field source {source!r} for {name}")
        value = SOURCES[source](submission, lead_source)
        if value in ("", None):
            continue
        fields[name] = (
            cut(value, FIELD_LENGTHS[name])
            if isinstance(value, str) and name in FIELD_LENGTHS
            else value
        )
    if owner_id:
        fields["OwnerId"] = owner_id
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


# How every follow-up task's subject begins (crm_sync.follow_up reads it back by this).
FOLLOW_UP_SUBJECT = "Følg op på "


def task_subject(submission: Submission) -> str:
    """The follow-up task's subject; it names the reference, so a retry can find the task."""
    return cut(f"{FOLLOW_UP_SUBJECT}{submission.reference}: {submission.organisation}", 255)


def task_for(
    submission: Submission, owner_id: str | None, who_id: str, due: date
) -> dict[str, Any]:
    """The consultant's follow-up task on the lead (or on the existing contact)."""
    task: dict[str, Any] = {
        "Subject": task_subject(submission),
        "WhoId": who_id,
        "ActivityDate": due.isoformat(),
        "Status": "Not Started",
        "Priority": "Normal",
        "Description": cut(description(submission), FIELD_LENGTHS["Description"]),
    }
    if owner_id:
        task["OwnerId"] = owner_id
    return task


def campaign_member_for(campaign_id: str, who_id: str) -> dict[str, Any]:
    """Membership of the campaign, for a lead (00Q…) or an existing contact (003…)."""
    key = "ContactId" if who_id.startswith("003") else "LeadId"
    return {"CampaignId": campaign_id, key: who_id}
