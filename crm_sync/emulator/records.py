"""The org's records in memory, and the writes the API makes to them.

``RecordStore`` holds the schema, the records by type and id, the deleted ones (the recycle
bin, which ``queryAll`` sees), and the ``Sforce-Auto-Assign`` header each record was last
written with. It makes ids, fills defaults, validates creates and updates (validation.py),
runs the org's duplicate rule on creates (duplicates.py), refuses every write while the org
is in read-only maintenance (org.py), upserts by external id, deletes as Salesforce does (a
lead's or contact's tasks and campaign memberships go with it) and converts leads as a sales
user does. ``snapshot``/``restore`` undo a Composite or Collections call made with
``allOrNone``.

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
from crm_sync.emulator.duplicates import duplicate_check
from crm_sync.emulator.errors import ApiError, error, not_found
from crm_sync.emulator.ids import normalize_id, with_checksum
from crm_sync.emulator.org import OrgSettings
from crm_sync.emulator.schema import FieldDef, SObjectDef, standard_sobjects
from crm_sync.emulator.validation import Validator

__all__ = ["MAINTENANCE_MESSAGE", "RecordStore", "Snapshot"]

Records = dict[str, dict[str, dict[str, Any]]]
Snapshot = tuple[Records, Records, dict[str, str | None]]
MAINTENANCE_MESSAGE = (
    "Updates can't be made during maintenance. Try again when maintenance is complete."
)


def _now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


class RecordStore:
    """Records by type and id (``records["Lead"][id]``), checked against ``schema``."""

    def __init__(
        self,
        external_id_field: str,
        email_pattern: re.Pattern[str],
        org: OrgSettings,
        api_version: str,
    ) -> None:
        self.external_id_field = external_id_field
        self.org = org
        self.api_version = api_version  # for the record URLs in a duplicate result
        self.schema = standard_sobjects(external_id_field)
        self.records: Records = {name: {} for name in self.schema}
        self.deleted: Records = {name: {} for name in self.schema}  # the recycle bin
        self.auto_assign_headers: dict[str, str | None] = {}
        self._ids = itertools.count(1)
        self._validator = Validator(self, email_pattern)

    def reset(self) -> None:
        """Forget records, deleted records and added fields (ids keep counting)."""
        self.schema = standard_sobjects(self.external_id_field)
        for records in (*self.records.values(), *self.deleted.values()):
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
        record.update(CreatedDate=now, LastModifiedDate=now, SystemModstamp=now, IsDeleted=False)
        record.update(data)  # a seeded record may name its own dates (add_unchecked)
        record["Id"] = record_id
        self.records[sobj.name][record_id] = record
        return record_id

    def writable(self) -> None:
        """Refuse a write while the org is in read-only maintenance (org.py)."""
        if self.org.maintenance:
            code = "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE"
            raise ApiError(400, [error(code, MAINTENANCE_MESSAGE, [])])

    def create(self, sobj: SObjectDef, data: Mapping[str, Any], headers: Mapping[str, str]) -> str:
        self.writable()
        clean = self._validator.validate(sobj, data, existing=None)
        if sobj.name == "Lead":
            candidates = {"Lead": self.records["Lead"].values()}
            candidates["Contact"] = self.records["Contact"].values()
            duplicate_check(self.org.duplicate_rule, clean, candidates, headers, self.api_version)
        record_id = self.insert(sobj, clean)
        self.auto_assign_headers[record_id] = header(headers, "Sforce-Auto-Assign")
        return record_id

    def update(
        self, sobj: SObjectDef, record_id: str, data: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        self._change(sobj, self.records[sobj.name][record_id], data)
        self.auto_assign_headers[record_id] = header(headers, "Sforce-Auto-Assign")

    def _change(self, sobj: SObjectDef, record: dict[str, Any], data: Mapping[str, Any]) -> None:
        """An update's checks (maintenance, a converted lead, the fields), then the change,
        with LastModifiedDate and SystemModstamp moved on."""
        self.writable()
        if sobj.name == "Lead" and record.get("IsConverted"):
            raise ApiError(
                400, [error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])]
            )
        clean = self._validator.validate(sobj, data, existing=record)
        now = _now()
        record.update(clean, LastModifiedDate=now, SystemModstamp=now)

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
        """Delete a record as Salesforce does: into the recycle bin (``queryAll`` still finds
        it, with ``IsDeleted`` true), and a lead's or contact's tasks and campaign memberships
        with it."""
        self.writable()
        record = self.records[sobject].pop(record_id)
        now = _now()
        self.deleted[sobject][record_id] = {
            **record,
            "IsDeleted": True,
            "LastModifiedDate": now,
            "SystemModstamp": now,
        }
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
                self.deleted[name][rid] = {**self.records[name].pop(rid), "IsDeleted": True}

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
        for record in (*self.records[sobj.name].values(), *self.deleted[sobj.name].values()):
            record.setdefault(name, None)

    def edit(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Change fields as a sales user does in Salesforce's own pages (a lead's Status, a
        task's Status): picklist values checked, LastModifiedDate and SystemModstamp moved on;
        a converted lead is read-only. KeyError: no such record; ApiError: a bad change."""
        sobj = self.sobject(sobject)
        record = self.records[sobj.name].get(normalize_id(record_id) or "")
        if record is None:
            raise KeyError(record_id)
        self._change(sobj, record, fields)

    def convert_lead(self, lead_id: str) -> str:
        """Convert a lead as a sales user would (convertLead): a new Account and Contact, the
        lead's activities and campaign memberships moved to the contact; the lead stays,
        read-only, with ``IsConverted`` and ``ConvertedContactId``. Returns the Contact id."""
        lead = self.records["Lead"].get(normalize_id(lead_id) or "")
        if lead is None:
            raise KeyError(lead_id)
        if lead["IsConverted"]:
            return str(lead["ConvertedContactId"])
        account_id = self.insert(self.schema["Account"], {"Name": lead["Company"]})
        contact_id = self.insert(
            self.schema["Contact"],
            {
                **{k: lead[k] for k in ("FirstName", "LastName", "Email", "Phone")},
                "AccountId": account_id,
            },
        )
        now = _now()
        for task in self.records["Task"].values():
            if task.get("WhoId") == lead["Id"]:
                task.update(WhoId=contact_id, LastModifiedDate=now, SystemModstamp=now)
        for member in self.records["CampaignMember"].values():
            if member.get("LeadId") == lead["Id"]:
                member.update(ContactId=contact_id, LastModifiedDate=now, SystemModstamp=now)
        lead.update(
            IsConverted=True,
            ConvertedContactId=contact_id,
            ConvertedAccountId=account_id,
            ConvertedDate=date.today().isoformat(),
            Status="Closed - Converted",
            LastModifiedDate=now,
            SystemModstamp=now,
        )
        return contact_id

    # ----------------------------------------------------------------- allOrNone

    def snapshot(self) -> Snapshot:
        return (
            copy.deepcopy(self.records),
            copy.deepcopy(self.deleted),
            dict(self.auto_assign_headers),
        )

    def restore(self, snapshot: Snapshot) -> None:
        """Put back a snapshot in place (references to ``records`` stay valid)."""
        records, deleted, auto_assign = snapshot
        for mine, saved in ((self.records, records), (self.deleted, deleted)):
            for name in mine:
                mine[name].clear()
                mine[name].update(saved.get(name, {}))
        self.auto_assign_headers.clear()
        self.auto_assign_headers.update(auto_assign)
