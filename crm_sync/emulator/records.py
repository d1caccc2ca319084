"""The org's records in memory, and the writes the API makes to them.

``RecordStore`` holds the schema, the records by type and id, and the ``Sforce-Auto-Assign``
header each record was last written with. It makes ids, fills defaults, validates creates
and updates (validation.py), upserts by external id and deletes as Salesforce does (a lead's
or contact's tasks and campaign memberships go with it). ``snapshot``/``restore`` undo a
Composite or Collections call made with ``allOrNone``.

It is not thread-safe on its own: the emulator holds its lock around every use.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from crm_sync.emulator.calls import header
from crm_sync.emulator.errors import ApiError, error, not_found
from crm_sync.emulator.ids import normalize_id, with_checksum
from crm_sync.emulator.schema import FieldDef, SObjectDef, standard_sobjects
from crm_sync.emulator.validation import Validator

__all__ = ["RecordStore", "Snapshot"]

Snapshot = tuple[dict[str, dict[str, dict[str, Any]]], dict[str, str | None]]


def _now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


class RecordStore:
    """Records by type and id (``records["Lead"][id]``), checked against ``schema``."""

    def __init__(self, external_id_field: str, email_pattern: re.Pattern[str]) -> None:
        self.external_id_field = external_id_field
        self.schema = standard_sobjects(external_id_field)
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schema}
        self.auto_assign_headers: dict[str, str | None] = {}
        self._ids = itertools.count(1)
        self._validator = Validator(self, email_pattern)

    def reset(self) -> None:
        """Forget records and added fields (ids keep counting)."""
        self.schema = standard_sobjects(self.external_id_field)
        for records in self.records.values():
            records.clear()
        self.auto_assign_headers.clear()

    # ----------------------------------------------------------------- looking up

    def sobject(self, name: str) -> SObjectDef:
        """The object named ``name`` (case-insensitively), or 404 ``NOT_FOUND``."""
        found = self.schema.get(name) or next(
            (s for s in self.schema.values() if s.name.casefold() == name.casefold()), None
        )
        if found is None:
            raise not_found()
        return found

    def existing_id(self, sobj: SObjectDef, raw_id: str) -> str:
        """The 18-character id of a stored record, or 404 ``NOT_FOUND``."""
        record_id = normalize_id(raw_id)
        if record_id is None or record_id not in self.records[sobj.name]:
            raise not_found()
        return record_id

    def matching(self, sobj: SObjectDef, field_name: str, value: Any) -> list[str]:
        """Ids whose ``field_name`` equals ``value`` (external ids match case-insensitively)."""
        folded = str(value).casefold()
        return [
            rid
            for rid, record in self.records[sobj.name].items()
            if record.get(field_name) is not None and str(record[field_name]).casefold() == folded
        ]

    # ----------------------------------------------------------------- writes

    def insert(self, sobj: SObjectDef, data: Mapping[str, Any]) -> str:
        """Store a new record (defaults filled in); no validation."""
        record_id = with_checksum(f"{sobj.key_prefix}Em{next(self._ids):010d}")
        now = _now()
        record: dict[str, Any] = {f: d.default for f, d in sobj.fields.items()}
        record.update(data)
        record.update(Id=record_id, CreatedDate=now, LastModifiedDate=now, IsDeleted=False)
        self.records[sobj.name][record_id] = record
        return record_id

    def create(self, sobj: SObjectDef, data: Mapping[str, Any], headers: Mapping[str, str]) -> str:
        clean = self._validator.validate(sobj, data, existing=None)
        record_id = self.insert(sobj, clean)
        self.auto_assign_headers[record_id] = header(headers, "Sforce-Auto-Assign")
        return record_id

    def update(
        self, sobj: SObjectDef, record_id: str, data: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        record = self.records[sobj.name][record_id]
        if sobj.name == "Lead" and record.get("IsConverted"):
            raise ApiError(
                400, [error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])]
            )
        clean = self._validator.validate(sobj, data, existing=record)
        record.update(clean, LastModifiedDate=_now())
        self.auto_assign_headers[record_id] = header(headers, "Sforce-Auto-Assign")

    def upsert_one(
        self,
        sobj: SObjectDef,
        ext: FieldDef,
        value: Any,
        data: dict[str, Any],
        headers: Mapping[str, str],
        *,
        update_only: bool = False,
    ) -> tuple[str, bool]:
        """Create or update by external id; returns (id, created)."""
        if value in (None, ""):
            raise ApiError(400, [error("MISSING_ARGUMENT", f"{ext.name} not specified", [])])
        if any(k.casefold() == "id" for k in data):
            message = "Unable to create/update fields: Id. Use the external id in the URL."
            raise ApiError(400, [error("INVALID_FIELD_FOR_INSERT_UPDATE", message, ["Id"])])
        in_body = next((k for k in data if k.casefold() == ext.name.casefold()), None)
        if in_body is not None and str(data[in_body]) != str(value):
            message = f"{ext.name}: the value in the body differs from the one in the URL"
            raise ApiError(400, [error("INVALID_FIELD", message, [ext.name])])
        matches = self.matching(sobj, ext.name, value)
        if len(matches) > 1:
            message = f"{ext.name}: more than one record found for external id value {value}"
            raise ApiError(300, [error("DUPLICATE_EXTERNAL_ID", message, [ext.name])])
        if matches:
            self.update(sobj, matches[0], data, headers)
            return matches[0], False
        if update_only:
            raise not_found()
        fields = {k: v for k, v in data.items() if k != in_body}
        return self.create(sobj, {**fields, ext.name: value}, headers), True

    def remove(self, sobject: str, record_id: str) -> None:
        """Delete a record as Salesforce does: a lead's or contact's tasks and campaign
        memberships go with it."""
        del self.records[sobject][record_id]
        self.auto_assign_headers.pop(record_id, None)
        if sobject in ("Lead", "Contact"):
            dependants = [
                ("Task", rid)
                for rid, task in self.records["Task"].items()
                if task.get("WhoId") == record_id
            ] + [
                ("CampaignMember", rid)
                for rid, member in self.records["CampaignMember"].items()
                if record_id in (member.get("LeadId"), member.get("ContactId"))
            ]
            for name, rid in dependants:
                del self.records[name][rid]

    # ----------------------------------------------------------------- seeding and the sales user

    def add_unchecked(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Store a record without validation (only the field names are checked)."""
        sobj = self.sobject(sobject)
        data: dict[str, Any] = {}
        for name, value in fields.items():
            f = sobj.field(name)
            if f is None:
                raise ValueError(f"No such column '{name}' on sobject of type {sobj.name}")
            data[f.name] = value
        return self.insert(sobj, data)

    def add_field(
        self,
        sobject: str,
        name: str,
        *,
        field_type: str,
        length: int,
        required: bool,
        external_id: bool,
        picklist: Iterable[str],
    ) -> None:
        sobj = self.sobject(sobject)
        sobj.fields[name] = FieldDef(
            name,
            field_type,
            length,
            required=required,
            external_id=external_id,
            unique=external_id,
            picklist=tuple(picklist),
        )
        for record in self.records[sobj.name].values():
            record.setdefault(name, None)

    def convert_lead(self, lead_id: str) -> str:
        """Convert a lead as a sales user would: a new Contact; returns the Contact id."""
        lead = self.records["Lead"].get(normalize_id(lead_id) or "")
        if lead is None:
            raise KeyError(lead_id)
        if lead["IsConverted"]:
            return str(lead["ConvertedContactId"])
        contact_id = self.insert(
            self.schema["Contact"],
            {k: lead[k] for k in ("FirstName", "LastName", "Email", "Phone")},
        )
        lead.update(
            IsConverted=True,
            ConvertedContactId=contact_id,
            ConvertedDate=date.today().isoformat(),
            Status="Closed - Converted",
            LastModifiedDate=_now(),
        )
        return contact_id

    # ----------------------------------------------------------------- allOrNone

    def snapshot(self) -> Snapshot:
        return copy.deepcopy(self.records), dict(self.auto_assign_headers)

    def restore(self, snapshot: Snapshot) -> None:
        """Put back a snapshot in place (references to ``records`` stay valid)."""
        records, auto_assign = snapshot
        for name in self.records:
            self.records[name].clear()
            self.records[name].update(records.get(name, {}))
        self.auto_assign_headers.clear()
        self.auto_assign_headers.update(auto_assign)
