"""What became of BL Intake's leads in Salesforce: each lead's Status, whether it was converted,
and its follow-up task's Status, read back for the leads that changed since a time.

One SOQL query a pull, a Lead query with its Tasks as a parent-to-child subquery::

    SELECT Id, Status, IsConverted, LastModifiedDate, Intake_Submission_Id__c,
           (SELECT Id, Subject, Status, LastModifiedDate FROM Tasks
            ORDER BY LastModifiedDate DESC LIMIT 20)
    FROM Lead
    WHERE Intake_Submission_Id__c != null AND LastModifiedDate > 2026-12-04T21:55:00Z

paged by Salesforce (a batch holds up to 2,000 records, a lead's tasks counting towards it;
`SalesforceClient.query` follows `nextRecordsUrl`): 1,000 changed leads with a task each are
one request. The dateTime literal is unquoted UTC, whole seconds, as SOQL writes it
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm).

What a single query cannot see: a task changed while its lead did not (a task's change does
not move its lead's LastModifiedDate); it is read with its lead's next change. Converting a
lead moves its tasks to the new contact, so a converted lead has no Tasks here: its stage is
settled by IsConverted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simple_salesforce.format import format_soql

from crm_sync.client import SalesforceClient
from crm_sync.mapping import FOLLOW_UP_SUBJECT

# A lead's newest 20 tasks: the follow-up and what the consultant logged.
TASKS_SUBQUERY = (
    "(SELECT Id, Subject, Status, LastModifiedDate FROM Tasks "
    "ORDER BY LastModifiedDate DESC LIMIT 20)"
)


# What counts as a consultant in contact: a lead Status other than these (Salesforce's default
# for a new lead; an org's own "new" values can be added here), or a task Status among those.
NOT_CONTACTED_LEAD_STATUSES = ("Open - Not Contacted",)
CONTACT_TASK_STATUSES = ("In Progress", "Completed", "Waiting on someone else")


@dataclass(frozen=True)
class LeadFollowUp:
    """One lead as Salesforce has it now."""

    external_id: str  # the submission's public id
    lead_id: str
    status: str
    converted: bool
    task_status: str | None  # the follow-up task's (or else the newest task's); None: none
    modified_at: datetime  # the lead's LastModifiedDate


@dataclass
class FollowUps:
    leads: list[LeadFollowUp] = field(default_factory=list)
    newest: datetime | None = None  # the newest LastModifiedDate among them
    soql: str = ""


def soql_datetime(moment: datetime) -> str:
    """A SOQL dateTime literal: UTC, whole seconds (the fraction dropped: an earlier bound)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def follow_up_query(external_id_field: str, since: datetime | None) -> str:
    """The pull's SOQL: the field's name is the admin's setting, the rest our own."""
    query = format_soql(
        "SELECT Id, Status, IsConverted, LastModifiedDate, {field:literal}, {tasks:literal} "
        "FROM Lead WHERE {field:literal} != null",
        field=external_id_field,
        tasks=TASKS_SUBQUERY,
    )
    if since is not None:
        query += format_soql(" AND LastModifiedDate > {:literal}", soql_datetime(since))
    return query


def parse_datetime(value: str) -> datetime:
    """Salesforce's dateTime ("2026-11-25T14:47:31.000+0000") as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _task_status(tasks: Any) -> str | None:
    records = tasks.get("records", []) if isinstance(tasks, dict) else []
    if not records:
        return None
    ours = [t for t in records if str(t.get("Subject") or "").startswith(FOLLOW_UP_SUBJECT)]
    return str((ours or records)[0].get("Status") or "") or None


def fetch_follow_ups(
    client: SalesforceClient, external_id_field: str, since: datetime | None
) -> FollowUps:
    """BL Intake's leads changed after `since` (every one when None), with their tasks. A
    Salesforce error propagates (crm_sync.errors) and nothing is returned: a pull is whole."""
    soql = follow_up_query(external_id_field, since)
    result = FollowUps(soql=soql)
    for record in client.query(soql):
        modified = parse_datetime(str(record["LastModifiedDate"]))
        result.leads.append(
            LeadFollowUp(
                external_id=str(record[external_id_field]),
                lead_id=str(record["Id"]),
                status=str(record.get("Status") or ""),
                converted=bool(record.get("IsConverted")),
                task_status=_task_status(record.get("Tasks")),
                modified_at=modified,
            )
        )
        if result.newest is None or modified > result.newest:
            result.newest = modified
    return result
