"""Finding the leads BL Intake made, and deleting them (a person's erasure, GDPR art. 17).

A lead is found by the external-id field, which holds the submission's public id. Deleting
is idempotent: a lead already gone counts as deleted. Salesforce deletes a lead's tasks and
campaign memberships with it.

API requests: one query per 100 ids and one sObject Collections delete per 200 leads.
"""

from __future__ import annotations

from typing import Any

from simple_salesforce.format import format_soql

from crm_sync.client import SalesforceClient
from crm_sync.errors import CrmError, error_for

IDS_PER_QUERY = 100  # keeps the query's URL short
IDS_PER_DELETE = 200  # sObject Collections' limit
GONE = "ENTITY_IS_DELETED"  # deleting what is already deleted: done


def find_leads(
    client: SalesforceClient, external_id_field: str, public_ids: list[str]
) -> list[dict[str, Any]]:
    """The leads with these external ids: Id, IsConverted, ConvertedContactId and the field."""
    leads: list[dict[str, Any]] = []
    for start in range(0, len(public_ids), IDS_PER_QUERY):
        chunk = public_ids[start : start + IDS_PER_QUERY]
        soql = format_soql(
            "SELECT Id, IsConverted, ConvertedContactId, {field:literal} FROM Lead "
            "WHERE {field:literal} IN {ids}",
            field=external_id_field,
            ids=chunk,
        )
        leads += client.query(soql)
    return leads


def delete_leads(client: SalesforceClient, lead_ids: list[str]) -> dict[str, CrmError]:
    """Delete the leads; the errors of those Salesforce would not delete, by lead id."""
    failures: dict[str, CrmError] = {}
    for start in range(0, len(lead_ids), IDS_PER_DELETE):
        chunk = lead_ids[start : start + IDS_PER_DELETE]
        results = client.call(
            "DELETE",
            "composite/sobjects",
            params={"ids": ",".join(chunk), "allOrNone": "false"},
        )
        for lead_id, result in zip(chunk, results, strict=True):
            errors = result.get("errors") or [{}]
            if not result.get("success") and errors[0].get("statusCode") != GONE:
                failures[lead_id] = error_for(
                    errors[0].get("statusCode", ""), errors[0].get("message", "")
                )
    return failures
