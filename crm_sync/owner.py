"""Giving a request's Salesforce records a new owner: a request sent on to another consultant.

The lead (found by the external-id field, like a retry and an erasure find it) and its open
follow-up tasks get the new owner; what a consultant has converted is theirs and is left alone
(Salesforce refuses `CANNOT_UPDATE_CONVERTED_LEAD` anyway). Repeating it is harmless: the
owner is set, not added. Where the request was linked to an existing Contact (no lead), its
open tasks on that contact get the owner.

API requests: one query for the lead, one for the open tasks, one update each.
"""

from __future__ import annotations

from dataclasses import dataclass

from simple_salesforce.format import format_soql

from crm_sync.client import SalesforceClient
from crm_sync.erasure import find_leads

OPEN_TASKS = "SELECT Id, OwnerId FROM Task WHERE WhoId = {who} AND Status != 'Completed'"


@dataclass(frozen=True)
class OwnerChange:
    lead_id: str | None  # None: no lead with that external id
    converted: bool = False  # the lead was converted: left alone
    tasks: int = 0  # open tasks given the new owner


def change_owner(
    client: SalesforceClient,
    external_id_field: str,
    public_id: str,
    owner_id: str,
    contact_id: str | None = None,
) -> OwnerChange:
    """Make `owner_id` the owner of the lead with this external id and of its open tasks (or,
    with no lead, of the open tasks on `contact_id`). Raises CrmError."""
    leads = find_leads(client, external_id_field, [public_id])
    if not leads:
        if contact_id is None:
            return OwnerChange(lead_id=None)
        return OwnerChange(lead_id=None, tasks=_tasks_to(client, contact_id, owner_id))
    lead = leads[0]
    if lead["IsConverted"]:
        return OwnerChange(lead_id=lead["Id"], converted=True)
    client.call("PATCH", f"sobjects/Lead/{lead['Id']}", json={"OwnerId": owner_id})
    return OwnerChange(lead_id=lead["Id"], tasks=_tasks_to(client, lead["Id"], owner_id))


def _tasks_to(client: SalesforceClient, who_id: str, owner_id: str) -> int:
    tasks = client.query(format_soql(OPEN_TASKS, who=who_id))
    moved = 0
    for task in tasks:
        if task.get("OwnerId") != owner_id:
            client.call("PATCH", f"sobjects/Task/{task['Id']}", json={"OwnerId": owner_id})
            moved += 1
    return moved
