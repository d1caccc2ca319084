"""A request's follow-up, as the back office shows it: where it stands in Salesforce (the
lead's status, converted or not, the follow-up task's status, as the last pull read them) and
the link to its record there.

`follow_up_for(submission)` feeds the partial template intake/admin/_follow_up.html, which
every page about one request includes (the order page; the start-up request page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_sync.follow_up import CONTACT_TASK_STATUSES, NOT_CONTACTED_LEAD_STATUSES
from intake.labels import SALESFORCE_LEAD_STATUSES, SALESFORCE_TASK_STATUSES
from intake.models import Submission

RECORD_KINDS = {"Lead": "Lead", "Contact": "Kontakt"}


@dataclass(frozen=True)
class FollowUp:
    summary: str  # one sentence: where the follow-up stands
    record_kind: str | None  # "Lead" or "Kontakt"; None: not in Salesforce yet
    record_url: str | None
    lead_status: str | None  # in Danish where Salesforce's value is a standard one
    converted: bool
    task_status: str | None
    read_at: datetime | None  # the lead's last change the pull has read


def _summary(submission: Submission) -> str:
    if not submission.salesforce_id:
        return "Henvendelsen er ikke i Salesforce endnu."
    if submission.crm_converted:
        return "Leadet er konverteret i Salesforce: kommunesamarbejde etableret."
    lead, task = submission.crm_lead_status, submission.crm_task_status
    if (lead and lead not in NOT_CONTACTED_LEAD_STATUSES) or task in CONTACT_TASK_STATUSES:
        return "Konsulenten er i kontakt med boligorganisationen."
    if submission.crm_modified_at is None:
        if submission.salesforce_object == "Contact":
            return "Opgaven ligger på en eksisterende kontakt i Salesforce."
        return "Salesforce er ikke læst for denne henvendelse endnu."
    return "Konsulenten har ikke taget kontakt endnu."


def follow_up_for(submission: Submission) -> FollowUp:
    lead, task = submission.crm_lead_status, submission.crm_task_status
    return FollowUp(
        summary=_summary(submission),
        record_kind=RECORD_KINDS.get(submission.salesforce_object or "")
        if submission.salesforce_id
        else None,
        record_url=submission.salesforce_url,
        lead_status=SALESFORCE_LEAD_STATUSES.get(lead, lead) if lead else None,
        converted=submission.crm_converted,
        task_status=SALESFORCE_TASK_STATUSES.get(task, task) if task else None,
        read_at=submission.crm_modified_at,
    )
