"""Write checks as Salesforce makes them, with its error codes and messages.

``coerce`` turns a JSON value into the stored one (or ``JSON_PARSER_ERROR``). ``Validator``
checks a create or update against the schema and the stored records: ``INVALID_FIELD``,
``INVALID_FIELD_FOR_INSERT_UPDATE``, ``STRING_TOO_LONG`` (lengths in characters),
``INVALID_EMAIL_ADDRESS``, ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``, ``MALFORMED_ID``,
``FIELD_INTEGRITY_EXCEPTION``, ``INVALID_CROSS_REFERENCE_KEY``, ``DUPLICATE_VALUE`` (a unique
field, or a second CampaignMember of one lead or contact in one campaign) and
``REQUIRED_FIELD_MISSING``; then the org's validation rules (org.py), on creates and updates,
as ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` with the admin's message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from crm_sync.emulator.errors import ApiError, error
from crm_sync.emulator.ids import normalize_id
from crm_sync.emulator.schema import FieldDef, SObjectDef

if TYPE_CHECKING:
    from crm_sync.emulator.records import RecordStore

__all__ = ["EAI_EMAIL_RE", "EMAIL_RE", "Validator", "coerce"]

# Email fields take ASCII addresses unless the org turned on Email Address Internationalization
# (EAI, off by default, API v49+); then UTF-8 local parts and domains are accepted too.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
EAI_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")


class Validator:
    """Checks writes to ``store``; references, unique fields and campaign members are
    checked against its records."""

    def __init__(self, store: RecordStore, email_pattern: re.Pattern[str]) -> None:
        self.store = store
        self.email_pattern = email_pattern

    def validate(
        self, sobj: SObjectDef, data: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Canonical field names and values, or ApiError(400) with Salesforce's errors."""
        creating = existing is None
        clean: dict[str, Any] = {}
        read_only: list[str] = []
        for key, value in data.items():
            f = sobj.field(key)
            if f is None:
                message = f"No such column '{key}' on sobject of type {sobj.name}"
                raise ApiError(400, [error("INVALID_FIELD", message, [])])
            if not (f.createable if creating else f.updateable):
                read_only.append(f.name)
                continue
            clean[f.name] = coerce(f, value)
        if read_only:
            message = (
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set."
            )
            raise ApiError(400, [error("INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only)])

        errors: list[dict[str, Any]] = []
        for name, value in clean.items():
            errors.extend(self._field_errors(sobj, sobj.fields[name], value, existing))
        merged = {**{f: d.default for f, d in sobj.fields.items()}, **(existing or {}), **clean}
        missing = [
            f.name for f in sobj.fields.values() if f.required and merged.get(f.name) is None
        ]
        if missing:
            message = f"Required fields are missing: [{', '.join(missing)}]"
            errors.append(error("REQUIRED_FIELD_MISSING", message, missing))
        if sobj.name == "CampaignMember" and not errors:
            errors.extend(self._campaign_member_errors(merged, existing))
        if not errors:  # Salesforce runs the org's validation rules after its own checks
            errors.extend(
                error("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, [rule.field])
                for rule in self.store.org.rules_for(sobj.name)
                if rule.broken_by(merged)
            )
        if errors:
            raise ApiError(400, errors)
        for name, value in clean.items():  # Salesforce stores 18-character ids
            if sobj.fields[name].type == "reference" and value is not None:
                clean[name] = normalize_id(value)
        return clean

    def _field_errors(
        self, sobj: SObjectDef, f: FieldDef, value: Any, existing: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        if value is None:
            return []
        label = f.display_label
        if isinstance(value, str) and f.length and len(value) > f.length:
            message = f"{label}: data value too large: {value[:80]} (max length={f.length})"
            return [error("STRING_TOO_LONG", message, [f.name])]
        if f.type == "email" and not self.email_pattern.match(value):
            return [
                error("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [f.name])
            ]
        if f.type == "picklist" and f.restricted and value not in f.picklist:
            message = f"{label}: bad value for restricted picklist field: {value}"
            return [error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, [f.name])]
        if f.type == "reference":
            return self._reference_errors(f, label, value)
        if f.unique:
            others = [
                rid
                for rid in self.store.matching(sobj, f.name, value)
                if existing is None or rid != existing.get("Id")
            ]
            if others:
                message = (
                    f"duplicate value found: {f.name} duplicates value on record with "
                    f"id: {others[0]}"
                )
                return [error("DUPLICATE_VALUE", message, [f.name])]
        return []

    def _reference_errors(self, f: FieldDef, label: str, value: str) -> list[dict[str, Any]]:
        ref_id = normalize_id(value)
        if ref_id is None:
            return [
                error("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [f.name])
            ]
        message = f"{label}: id value of incorrect type: {value}"
        wrong_type = [error("FIELD_INTEGRITY_EXCEPTION", message, [f.name])]
        if "User" in f.reference_to:  # owners: any user (005) or queue (00G) id
            return [] if ref_id[:3] in ("005", "00G") else wrong_type
        targets = [self.store.schema[t] for t in f.reference_to if t in self.store.schema]
        target = next((t for t in targets if t.key_prefix == ref_id[:3]), None)
        if target is None:
            return wrong_type
        if ref_id not in self.store.records[target.name]:
            return [error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])]
        return []

    def _campaign_member_errors(
        self, merged: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        if merged.get("LeadId") is None and merged.get("ContactId") is None:
            message = "Required fields are missing: [LeadId or ContactId]"
            return [error("REQUIRED_FIELD_MISSING", message, ["LeadId", "ContactId"])]
        campaign = normalize_id(merged.get("CampaignId"))
        people = {normalize_id(merged.get(k)) for k in ("LeadId", "ContactId")} - {None}
        for rid, member in self.store.records["CampaignMember"].items():
            if existing is not None and rid == existing.get("Id"):
                continue
            theirs = {normalize_id(member.get(k)) for k in ("LeadId", "ContactId")} - {None}
            # One membership per lead or contact and campaign; a converted lead's membership
            # names both the lead and its contact.
            if normalize_id(member.get("CampaignId")) == campaign and people & theirs:
                return [error("DUPLICATE_VALUE", "Already a campaign member.", [])]
        return []


def coerce(f: FieldDef, value: Any) -> Any:
    """The stored value for a JSON value, or JSON_PARSER_ERROR like Salesforce's parser."""

    def bad(kind: str) -> ApiError:
        message = (
            f"Cannot deserialize instance of {kind} from {type(value).__name__} value "
            f"{value!r} or request may be missing a required field"
        )
        return ApiError(400, [error("JSON_PARSER_ERROR", message)])

    if f.type == "boolean":
        if value is None:
            return False
        if not isinstance(value, bool):
            raise bad("boolean")
        return value
    if value is None or value == "":
        return None  # Salesforce stores empty text as null
    if f.type == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise bad("date") from None
    if f.type in ("double", "currency", "int", "percent"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f.type)
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad("string")
    return str(value)
