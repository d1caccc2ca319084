"""One submission on its way to Salesforce, and what became of it (leads.py sends them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_sync.errors import CrmError
from crm_sync.mapping import task_for, task_subject, working_days_after
from intake.models import Submission, SubmissionKind
from intake.timefmt import DANISH_TIME


@dataclass(eq=False)
class LeadRequest:
    """A submission to send, and its records in Salesforce as they become known."""

    submission: Submission
    owner_id: str | None  # the consultant's Salesforce User Id; None: assignment rules choose
    retry: bool  # tried before: its lead, task and membership may exist already
    contact_id: str | None = None  # an existing Contact with the same e-mail: no lead
    lead_id: str | None = None  # the lead made now, or found on a retry
    converted_to: str | None = None  # the Contact a consultant converted the lead into
    duplicate_of: str | None = None  # the record a blocking duplicate rule named instead
    has_task: bool = False  # its follow-up task exists (found on a retry, or made now)
    contact_gone: bool = False  # its contact_id is no longer in Salesforce (deleted, merged)
    error: CrmError | None = None

    @property
    def who_id(self) -> str | None:
        """The record the follow-up hangs on: the existing contact, the contact its lead was
        converted into, the record a duplicate rule named, or its lead."""
        return self.contact_id or self.converted_to or self.duplicate_of or self.lead_id

    @property
    def sobject(self) -> str:
        """Contact or Lead: the type of `who_id` (by Salesforce's id prefix)."""
        return "Contact" if (self.who_id or "").startswith("003") else "Lead"

    @property
    def needs_lead(self) -> bool:
        """A lead is to be made: there is none, and no contact or duplicate stands for it."""
        unknown = self.contact_id is None and self.duplicate_of is None
        return unknown and self.lead_id is None and self.error is None

    @property
    def wants_task(self) -> bool:
        """Start-up help gets a follow-up task; so does an order with no lead of its own (an
        existing contact's, or one a duplicate rule sent elsewhere), which would otherwise
        leave no trace in Salesforce."""
        is_startup = self.submission.kind is SubmissionKind.STARTUP_HELP
        return is_startup or self.contact_id is not None or self.duplicate_of is not None

    def task(self, who_id: str, due_working_days: int) -> dict[str, Any]:
        received = self.submission.created_at.astimezone(DANISH_TIME).date()
        due = working_days_after(received, due_working_days)
        return task_for(self.submission, self.owner_id, who_id, due)

    @property
    def subject(self) -> str:
        return task_subject(self.submission)

    def fail(self, error: CrmError) -> None:
        if self.error is None:
            self.error = error
