"""The org's schema: fields (``FieldDef``), objects (``SObjectDef``) and their ``describe``.

``standard_sobjects`` gives the objects BL Intake uses, with Salesforce's standard lengths,
required fields, picklists and defaults: Lead (with the external-id field), Contact,
Account, Campaign, CampaignMember and Task. ``SalesforceEmulator.add_field`` adds custom ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crm_sync.emulator.ids import DEFAULT_OWNER_ID

__all__ = ["FieldDef", "SObjectDef", "standard_sobjects"]


@dataclass
class FieldDef:
    """One field as ``describe`` shows it and as writes are checked against."""

    name: str
    type: str = "string"  # id string textarea email phone url picklist reference boolean date …
    length: int = 0
    required: bool = False  # must be non-null after a create or update
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    default: Any = None
    reference_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    label: str = ""

    @property
    def display_label(self) -> str:
        """The label errors and ``describe`` show: the given one, else one made of the name."""
        return self.label or _label(self.name)

    def describe(self) -> dict[str, Any]:
        soap = {
            "id": "tns:ID",
            "reference": "tns:ID",
            "boolean": "xsd:boolean",
            "date": "xsd:date",
            "datetime": "xsd:dateTime",
        }
        return {
            "name": self.name,
            "label": self.display_label,
            "type": self.type,
            "soapType": soap.get(self.type, "xsd:string"),
            "length": self.length,
            "byteLength": self.length * 3,
            "nillable": not self.required and self.type not in ("id", "boolean"),
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.default is not None or not self.createable,
            "defaultValue": self.default if self.type in ("picklist", "boolean") else None,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.type == "id" or self.external_id,
            "custom": self.name.endswith("__c"),
            "calculated": False,
            "filterable": True,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.name[:-2] if self.type == "reference" else None,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"active": True, "defaultValue": v == self.default, "label": v, "value": v}
                for v in self.picklist
            ],
        }


def _label(name: str) -> str:
    if name.endswith("__c"):
        return name[:-3].replace("_", " ")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name.removesuffix("Id") or name) or name


@dataclass
class SObjectDef:
    name: str
    key_prefix: str
    fields: dict[str, FieldDef]
    label_plural: str = ""

    def field(self, name: str) -> FieldDef | None:
        """Field names are case-insensitive in Salesforce."""
        found = self.fields.get(name)
        if found is None:
            folded = name.casefold()
            found = next((f for f in self.fields.values() if f.name.casefold() == folded), None)
        return found

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.name,
            "labelPlural": self.label_plural or self.name + "s",
            "keyPrefix": self.key_prefix,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
            "custom": self.name.endswith("__c"),
            "urls": {"sobject": base, "describe": base + "/describe", "rowId": base + "/{ID}"},
        }


def _system_fields() -> list[FieldDef]:
    return [
        FieldDef("Id", "id", 18, createable=False, updateable=False),
        FieldDef("CreatedDate", "datetime", createable=False, updateable=False),
        FieldDef("LastModifiedDate", "datetime", createable=False, updateable=False),
        FieldDef("SystemModstamp", "datetime", createable=False, updateable=False),
        FieldDef("IsDeleted", "boolean", createable=False, updateable=False, default=False),
    ]


def _owner() -> FieldDef:
    return FieldDef(
        "OwnerId",
        "reference",
        18,
        required=True,
        default=DEFAULT_OWNER_ID,
        reference_to=("User", "Group"),
        label="Owner ID",
    )


LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
COUNTRY_CODES = ("DK", "FO", "GL", "SE", "NO", "FI", "IS", "DE", "NL", "PL", "GB", "FR", "US")


def standard_sobjects(external_id_field: str) -> dict[str, SObjectDef]:
    """The objects the project uses, with Salesforce's standard lengths (notes §4)."""

    def sobject(name: str, prefix: str, fields: Iterable[FieldDef], plural: str = "") -> SObjectDef:
        all_fields = [*_system_fields(), *fields]
        return SObjectDef(name, prefix, {f.name: f for f in all_fields}, plural)

    s, ref = "string", "reference"
    lead = sobject(
        "Lead",
        "00Q",
        [
            FieldDef("FirstName", s, 40),
            FieldDef("LastName", s, 80, required=True),
            FieldDef("Company", s, 255, required=True),
            FieldDef("Title", s, 128),
            FieldDef("Email", "email", 80),
            FieldDef("Phone", "phone", 40),
            FieldDef("MobilePhone", "phone", 40),
            FieldDef("Website", "url", 255),
            FieldDef("Street", "textarea", 255),
            FieldDef("City", s, 40),
            FieldDef("State", s, 80),
            FieldDef("PostalCode", s, 20, label="Zip/Postal Code"),
            FieldDef("Country", s, 80),
            FieldDef("CountryCode", "picklist", 2, picklist=COUNTRY_CODES, restricted=True),
            FieldDef("LeadSource", "picklist", 40, picklist=LEAD_SOURCES),
            FieldDef("Industry", "picklist", 40),
            FieldDef("Description", "textarea", 32000),
            FieldDef(
                "Status",
                "picklist",
                40,
                required=True,
                default=LEAD_STATUSES[0],
                picklist=LEAD_STATUSES,
                restricted=True,
            ),
            FieldDef("HasOptedOutOfEmail", "boolean", default=False),
            _owner(),
            FieldDef("IsConverted", "boolean", createable=False, updateable=False, default=False),
            FieldDef("ConvertedDate", "date", createable=False, updateable=False),
            FieldDef(
                "ConvertedContactId",
                ref,
                18,
                createable=False,
                updateable=False,
                reference_to=("Contact",),
            ),
            FieldDef(
                "ConvertedAccountId",
                ref,
                18,
                createable=False,
                updateable=False,
                reference_to=("Account",),
            ),
            FieldDef(external_id_field, s, 64, external_id=True, unique=True),
        ],
    )
    contact = sobject(
        "Contact",
        "003",
        [
            FieldDef("FirstName", s, 40),
            FieldDef("LastName", s, 80, required=True),
            FieldDef("Email", "email", 80),
            FieldDef("Phone", "phone", 40),
            FieldDef("AccountId", ref, 18, reference_to=("Account",)),
            _owner(),
        ],
    )
    account = sobject("Account", "001", [FieldDef("Name", s, 255, required=True), _owner()])
    campaign = sobject(
        "Campaign",
        "701",
        [
            FieldDef("Name", s, 80, required=True),
            FieldDef("IsActive", "boolean", default=False),
            _owner(),
        ],
    )
    member = sobject(
        "CampaignMember",
        "00v",
        [
            FieldDef("CampaignId", ref, 18, required=True, reference_to=("Campaign",)),
            FieldDef("LeadId", ref, 18, reference_to=("Lead",)),
            FieldDef("ContactId", ref, 18, reference_to=("Contact",)),
            FieldDef("Status", "picklist", 40, default="Sent", picklist=("Sent", "Responded")),
        ],
    )
    task = sobject(
        "Task",
        "00T",
        [
            FieldDef("Subject", "combobox", 255),
            FieldDef("WhoId", ref, 18, reference_to=("Lead", "Contact"), label="Name ID"),
            FieldDef(
                "WhatId", ref, 18, reference_to=("Account", "Campaign"), label="Related To ID"
            ),
            FieldDef("ActivityDate", "date", label="Due Date Only"),
            FieldDef(
                "Status",
                "picklist",
                40,
                required=True,
                default="Not Started",
                restricted=True,
                picklist=(
                    "Not Started",
                    "In Progress",
                    "Completed",
                    "Waiting on someone else",
                    "Deferred",
                ),
            ),
            FieldDef(
                "Priority",
                "picklist",
                40,
                required=True,
                default="Normal",
                restricted=True,
                picklist=("High", "Normal", "Low"),
            ),
            FieldDef("Description", "textarea", 32000),
            _owner(),
        ],
    )
    objects = [lead, contact, account, campaign, member, task]
    return {o.name: o for o in objects}
