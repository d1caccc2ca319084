"""The Standard Lead Duplicate Rule, as an org created since Summer '17 has it active.

It runs when a Lead is created (its action on edit is *Allow*, report only, so updates pass)
and matches other leads and contacts with (a subset of) the Standard Lead Matching Rule's
equation: same first name, last name and e-mail, or same first name, last name and phone.
Salesforce compares these fuzzily; the emulator compares them exactly, case-insensitively
(phones by their digits, with or without a country code), and, as the rule says, a blank
field matches nothing.

What a match does depends on the rule's action on create (org.py):

* *Allow* with an alert (``"alert"``, the default action): the save is refused with
  ``DUPLICATES_DETECTED`` unless the request carries ``Sforce-Duplicate-Rule-Header:
  allowSave=true`` (the REST API's header, v52.0 and later);
* *Block* (``"block"``): refused whatever the header says.

The error carries the duplicate result: the rule, ``allowSave`` and the matching records.
A REST error names it ``duplicateResut`` (sic: the key real orgs send; DuplicateResult in the
SOAP docs); a record's error in sObject Collections names it ``duplicateResult``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from crm_sync.emulator.calls import header
from crm_sync.emulator.errors import ApiError, error
from crm_sync.emulator.org import DuplicateRuleAction

__all__ = ["ALERT_TEXT", "RULE_NAME", "allows_save", "duplicate_check"]

RULE_NAME = "Standard_Lead_Duplicate_Rule"
ALERT_TEXT = "Use one of these records?"
_MATCHING_RULES = {
    "Lead": "Standard_Lead_Match_Rule_v1_0",
    "Contact": "Standard_Contact_Match_Rule_v1_1",
}


def allows_save(headers: Mapping[str, str]) -> bool:
    """Whether ``Sforce-Duplicate-Rule-Header`` says ``allowSave=true``."""
    value = header(headers, "Sforce-Duplicate-Rule-Header") or ""
    for part in re.split(r"[;,]", value):
        name, _, setting = part.partition("=")
        if name.strip() == "allowSave":
            return setting.strip().lower() == "true"
    return False


def _key(value: Any) -> str:
    return str(value or "").strip().casefold()


def _same_phone(one: Any, other: Any) -> bool:
    """The same number, with or without a country code ("+45 33 76 20 40", "33762040")."""
    a, b = (re.sub(r"\D", "", str(v or "")) for v in (one, other))
    return min(len(a), len(b)) >= 8 and (a.endswith(b) or b.endswith(a))


def _matches(new: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    first, last = _key(new.get("FirstName")), _key(new.get("LastName"))
    if not first or not last:
        return False
    if (_key(other.get("FirstName")), _key(other.get("LastName"))) != (first, last):
        return False
    email = _key(new.get("Email"))
    return bool(email and email == _key(other.get("Email"))) or _same_phone(
        new.get("Phone"), other.get("Phone")
    )


def duplicate_check(
    action: DuplicateRuleAction | None,
    lead: Mapping[str, Any],
    candidates: Mapping[str, Iterable[Mapping[str, Any]]],
    headers: Mapping[str, str],
    version: str,
) -> None:
    """Raise ApiError(400, DUPLICATES_DETECTED) if the rule refuses to create ``lead``.

    ``candidates``: the stored records by type ("Lead", "Contact") to match against.
    """
    if action is None:
        return
    if action == DuplicateRuleAction.ALERT and allows_save(headers):
        return
    results = []
    for sobject, records in candidates.items():
        found = [r for r in records if not r.get("IsConverted") and r.get("Id") != lead.get("Id")]
        found = [r for r in found if _matches(lead, r)]
        if found:
            results.append(_match_result(sobject, found, version))
    if results:
        raise ApiError(400, [duplicate_error(action, results)])


def _match_result(sobject: str, records: list[Mapping[str, Any]], version: str) -> dict[str, Any]:
    return {
        "entityType": sobject,
        "errors": [],
        "matchEngine": "FuzzyMatchEngine",
        "matchRecords": [
            {
                "additionalInformation": [],
                "fieldDiffs": [],
                "matchConfidence": 100.0,
                "record": {
                    "attributes": {
                        "type": sobject,
                        "url": f"/services/data/v{version}/sobjects/{sobject}/{r['Id']}",
                    },
                    "Id": r["Id"],
                },
            }
            for r in records
        ],
        "rule": _MATCHING_RULES[sobject],
        "size": len(records),
        "success": True,
    }


def duplicate_error(
    action: DuplicateRuleAction, match_results: list[dict[str, Any]]
) -> dict[str, Any]:
    """The REST error entry (``as_record_errors`` renames it for Collections)."""
    entry = error(
        "DUPLICATES_DETECTED",
        "You're creating a duplicate record. We recommend you use an existing record instead.",
        [],
    )
    entry["duplicateResut"] = {
        "allowSave": action == DuplicateRuleAction.ALERT,
        "duplicateRule": RULE_NAME,
        "duplicateRuleEntityType": "Lead",
        "errorMessage": ALERT_TEXT,
        "matchResults": match_results,
    }
    return entry
