"""Sending submissions to Salesforce: each becomes a Lead (upserted by its external id) with a
follow-up Task and a CampaignMember, or, when a Contact has the same e-mail, a Task on it.

API requests per call (each one counts against the org's daily allowance):
- one submission alone, first try: a Contact look-up (match_contacts) and one Composite
  request holding the Lead upsert, the Task and the CampaignMember: 2 requests (1 without the
  look-up);
- several submissions, or a retry: one look-up per 100 e-mail addresses, one sObject
  Collections upsert per 200 leads, and one Collections create per 200 tasks and campaign
  members (a burst of 100 submissions: 3–4 requests in all).

Idempotent: the Lead is upserted by the external-id field holding the submission's public id,
so a retry after a timeout updates the lead it already made. A retried send first looks for
its Task (its Subject holds the reference) and treats an existing campaign membership as done,
so no follow-up is made twice either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce.format import format_external_id, format_soql

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.errors import CrmError, error_for
from crm_sync.mapping import campaign_member_for, lead_from_submission, task_for, working_days_after
from intake.models import Submission, SubmissionKind
from intake.text import ascii_address
from intake.timefmt import DANISH_TIME

COLLECTION_LIMIT = 200  # records per sObject Collections request
EMAILS_PER_QUERY = 100  # keeps the look-up's URL well under Salesforce's 16,000 characters


@dataclass
class LeadRequest:
    """One submission on its way to Salesforce, and what became of it."""

    submission: Submission
    owner_id: str | None  # the consultant's Salesforce User Id; None: assignment rules choose
    retry: bool  # sent before: its task may exist already
    contact_id: str | None = None  # an existing Contact with the same e-mail
    lead_id: str | None = None
    error: CrmError | None = None

    @property
    def who_id(self) -> str | None:
        """The record the follow-up hangs on: the existing contact, or the lead."""
        return self.contact_id or self.lead_id

    def fail(self, error: CrmError) -> None:
        if self.error is None:
            self.error = error


class LeadSender:
    """Sends LeadRequests with one client; fills in each one's ids, or its error."""

    def __init__(self, config: SalesforceConfig, client: SalesforceClient) -> None:
        self.config = config
        self.client = client

    def send(self, requests: Sequence[LeadRequest]) -> None:
        """Send them together. A request as a whole that fails (Salesforce unreachable) fails
        every one of them; a record Salesforce rejects fails only its own."""
        if not requests:
            return
        try:
            if self.config.match_contacts:
                self._find_contacts(requests)
            first = requests[0]
            if len(requests) == 1 and first.contact_id is None and not first.retry:
                self._send_composite(first)
            else:
                self._send_collections(requests)
        except CrmError as error:
            for request in requests:
                request.fail(error)

    # -- look-ups ------------------------------------------------------------------------

    def _find_contacts(self, requests: Sequence[LeadRequest]) -> None:
        emails = sorted({ascii_address(r.submission.email).lower() for r in requests})
        found: dict[str, str] = {}
        for start in range(0, len(emails), EMAILS_PER_QUERY):
            chunk = emails[start : start + EMAILS_PER_QUERY]
            soql = format_soql("SELECT Id, Email FROM Contact WHERE Email IN {}", chunk)
            for record in self.client.query(soql):
                found.setdefault(str(record["Email"]).lower(), record["Id"])
        for request in requests:
            request.contact_id = found.get(ascii_address(request.submission.email).lower())

    def _existing_tasks(self, requests: Sequence[LeadRequest]) -> set[tuple[str, str]]:
        """(WhoId, Subject) of follow-up tasks a retried send already made."""
        subjects = sorted({self._task(request, "x")["Subject"] for request in requests})
        if not subjects:
            return set()
        soql = format_soql("SELECT Id, WhoId, Subject FROM Task WHERE Subject IN {}", subjects)
        return {(r["WhoId"], r["Subject"]) for r in self.client.query(soql)}

    # -- one submission: Composite -------------------------------------------------------

    def _send_composite(self, request: LeadRequest) -> None:
        base = f"/services/data/v{self.config.api_version}/sobjects"
        subrequests = [
            {
                "method": "PATCH",
                "url": f"{base}/Lead/{self._external_id(request)}",
                "referenceId": "lead",
                "body": self._lead(request),
                "httpHeaders": self._assignment_header(request.owner_id),
            }
        ]
        if self._wants_task(request):
            subrequests.append(
                {
                    "method": "POST",
                    "url": f"{base}/Task",
                    "referenceId": "task",
                    "body": self._task(request, "@{lead.id}"),
                }
            )
        if self.config.campaign_id:
            subrequests.append(
                {
                    "method": "POST",
                    "url": f"{base}/CampaignMember",
                    "referenceId": "member",
                    "body": campaign_member_for(self.config.campaign_id, "@{lead.id}"),
                }
            )
        answer = self.client.call(
            "POST", "composite", json={"allOrNone": True, "compositeRequest": subrequests}
        )
        responses = {r["referenceId"]: r for r in answer["compositeResponse"]}
        for reference in ("lead", "task", "member"):
            response = responses.get(reference)
            if response is not None and response["httpStatusCode"] >= 300:
                errors = response["body"] if isinstance(response["body"], list) else [{}]
                real = [e for e in errors if e.get("errorCode") != "PROCESSING_HALTED"] or errors
                request.fail(error_for(real[0].get("errorCode", ""), real[0].get("message", "")))
        if request.error is None:
            request.lead_id = responses["lead"]["body"]["id"]

    # -- several submissions, or a retry: sObject Collections ----------------------------

    def _send_collections(self, requests: Sequence[LeadRequest]) -> None:
        new_leads = [request for request in requests if request.contact_id is None]
        for owner_set in (True, False):  # the assignment header is per request, not per record
            group = [r for r in new_leads if bool(r.owner_id) is owner_set]
            for start in range(0, len(group), COLLECTION_LIMIT):
                self._upsert_leads(group[start : start + COLLECTION_LIMIT])
        self._create_followups([r for r in requests if r.error is None and r.who_id])

    def _upsert_leads(self, requests: Sequence[LeadRequest]) -> None:
        if not requests:
            return
        records = [{"attributes": {"type": "Lead"}, **self._lead(request)} for request in requests]
        results = self.client.call(
            "PATCH",
            f"composite/sobjects/Lead/{self.config.external_id_field}",
            json={"allOrNone": False, "records": records},
            headers=self._assignment_header(requests[0].owner_id),
        )
        for request, result in zip(requests, results, strict=True):
            if result.get("success"):
                request.lead_id = result["id"]
            else:
                request.fail(_record_error(result))

    def _create_followups(self, requests: Sequence[LeadRequest]) -> None:
        retried = [request for request in requests if request.retry]
        existing = self._existing_tasks(retried) if retried else set()
        planned: list[tuple[LeadRequest, dict[str, Any]]] = []
        for request in requests:
            who_id = request.who_id or ""
            task = self._task(request, who_id)
            if self._wants_task(request) and (who_id, task["Subject"]) not in existing:
                planned.append((request, {"attributes": {"type": "Task"}, **task}))
            if self.config.campaign_id:
                member = campaign_member_for(self.config.campaign_id, who_id)
                planned.append((request, {"attributes": {"type": "CampaignMember"}, **member}))
        for start in range(0, len(planned), COLLECTION_LIMIT):
            chunk = planned[start : start + COLLECTION_LIMIT]
            results = self.client.call(
                "POST",
                "composite/sobjects",
                json={"allOrNone": False, "records": [record for _, record in chunk]},
            )
            for (request, _), result in zip(chunk, results, strict=True):
                codes = {e.get("statusCode") for e in result.get("errors", [])}
                if not result.get("success") and codes != {"DUPLICATE_VALUE"}:
                    request.fail(_record_error(result))  # (already a campaign member is fine)

    # -- the records -----------------------------------------------------------------------

    def _external_id(self, request: LeadRequest) -> str:
        return format_external_id(self.config.external_id_field, request.submission.public_id)

    def _lead(self, request: LeadRequest) -> dict[str, Any]:
        return lead_from_submission(
            request.submission,
            request.owner_id,
            external_id_field=self.config.external_id_field,
            lead_source=self.config.lead_source,
            extra_fields=self.config.extra_lead_fields,
        )

    @staticmethod
    def _wants_task(request: LeadRequest) -> bool:
        """Start-up help gets a follow-up task; so does an order from an existing contact,
        which gets no lead and would otherwise leave no trace in Salesforce."""
        is_startup = request.submission.kind is SubmissionKind.STARTUP_HELP
        return is_startup or request.contact_id is not None

    def _task(self, request: LeadRequest, who_id: str) -> dict[str, Any]:
        received = request.submission.created_at.astimezone(DANISH_TIME).date()
        due = working_days_after(received, self.config.task_due_working_days)
        return task_for(request.submission, request.owner_id, who_id, due)

    @staticmethod
    def _assignment_header(owner_id: str | None) -> dict[str, str]:
        """With an owner from the routing, Salesforce's assignment rules must not move the
        lead; without one, they choose the owner."""
        return {"Sforce-Auto-Assign": "FALSE" if owner_id else "TRUE"}


def _record_error(result: dict[str, Any]) -> CrmError:
    errors = result.get("errors") or [{}]
    first = errors[0]
    error = error_for(first.get("statusCode", ""), first.get("message", ""))
    fields = first.get("fields")
    if fields:
        error = type(error)(f"{error} (felter: {', '.join(fields)})")
    return error
