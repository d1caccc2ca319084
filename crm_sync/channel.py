"""The worker's Salesforce channel: CRM jobs become Leads (with a Task and a CampaignMember).

API requests per submission (each one counts against the org's daily allowance):
- one job alone, first try: a Contact look-up (SALESFORCE_MATCH_CONTACTS) and one Composite
  request holding the Lead upsert, the Task and the CampaignMember: 2 requests (1 without the
  look-up);
- several due jobs, or a retry: one look-up per 100 e-mail addresses, one sObject Collections
  upsert per 200 leads, and one Collections create per 200 tasks and campaign members
  (a burst of 100 submissions: 3–4 requests in all).

Idempotent: the Lead is upserted by SALESFORCE_EXTERNAL_ID_FIELD holding the submission's
public id, so a retry after a timeout updates the lead it already made. A retried job first
looks for its Task (its Subject holds the reference) and treats an existing campaign
membership as done, so no follow-up is made twice either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from simple_salesforce.format import format_external_id, format_soql
from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.errors import CrmError, error_for
from crm_sync.mapping import (
    campaign_member_for,
    lead_from_submission,
    task_for,
    working_days_after,
)
from crm_sync.usage import record_usage
from intake.delivery import DeliveryError
from intake.email_headers import ascii_address
from intake.emails import consultant_for
from intake.extension import current_intake
from intake.models import DeliveryJob, JobKind, Submission, SubmissionKind
from intake.routing import Consultant
from intake.timefmt import DANISH_TIME

COLLECTION_LIMIT = 200  # records per sObject Collections request
EMAILS_PER_QUERY = 100  # keeps the look-up's URL well under Salesforce's 16,000 characters


@dataclass
class _Item:
    """One CRM job on its way through a batch."""

    job: DeliveryJob
    submission: Submission
    consultant: Consultant
    contact_id: str | None = None
    lead_id: str | None = None
    error: DeliveryError | None = None

    @property
    def who_id(self) -> str | None:
        return self.contact_id or self.lead_id

    def fail(self, error: DeliveryError) -> None:
        if self.error is None:
            self.error = error


class SalesforceChannel:
    kind = JobKind.SALESFORCE

    def __init__(self, config: SalesforceConfig, client: SalesforceClient | None = None) -> None:
        self.config = config
        self.client = client or SalesforceClient(config)
        self.batch_size = config.batch_size

    # -- the worker's entry points -------------------------------------------------------

    def deliver(self, job: DeliveryJob, session: Session) -> str:
        outcome = self.deliver_batch([job], session)[job.id]
        if isinstance(outcome, DeliveryError):
            raise outcome
        return outcome

    def deliver_batch(
        self, jobs: Sequence[DeliveryJob], session: Session
    ) -> dict[int, str | DeliveryError]:
        """Deliver the jobs together; each job's Salesforce id, or its own error."""
        routing = current_intake().routing
        outcomes: dict[int, str | DeliveryError] = {}
        items: list[_Item] = []
        for job in jobs:
            try:
                items.append(_Item(job, job.submission, consultant_for(job.submission, routing)))
            except DeliveryError as error:  # no consultant for it: this job only
                outcomes[job.id] = error
        if not items:
            return outcomes
        try:
            if self.config.match_contacts:
                self._find_contacts(items)
            if len(items) == 1 and items[0].contact_id is None and items[0].job.attempts <= 1:
                self._send_composite(items[0])
            else:
                self._send_collections(items)
        except CrmError as error:  # the request as a whole failed: every job shares it
            for item in items:
                item.fail(error)
        self._remember_records(items, session)
        outcomes.update({item.job.id: item.error or item.who_id or "" for item in items})
        return outcomes

    # -- look-ups ------------------------------------------------------------------------

    def _find_contacts(self, items: list[_Item]) -> None:
        emails = sorted({ascii_address(item.submission.email).lower() for item in items})
        found: dict[str, str] = {}
        for start in range(0, len(emails), EMAILS_PER_QUERY):
            chunk = emails[start : start + EMAILS_PER_QUERY]
            soql = format_soql("SELECT Id, Email FROM Contact WHERE Email IN {}", chunk)
            for record in self.client.query(soql):
                found.setdefault(str(record["Email"]).lower(), record["Id"])
        for item in items:
            item.contact_id = found.get(ascii_address(item.submission.email).lower())

    def _existing_tasks(self, items: list[_Item]) -> set[tuple[str, str]]:
        """(WhoId, Subject) of follow-up tasks a retried job already made."""
        subjects = sorted({self._task(item, "x")["Subject"] for item in items})
        if not subjects:
            return set()
        soql = format_soql("SELECT Id, WhoId, Subject FROM Task WHERE Subject IN {}", subjects)
        return {(r["WhoId"], r["Subject"]) for r in self.client.query(soql)}

    # -- one job: Composite ----------------------------------------------------------------

    def _send_composite(self, item: _Item) -> None:
        base = f"/services/data/v{self.config.api_version}/sobjects"
        requests = [
            {
                "method": "PATCH",
                "url": f"{base}/Lead/{self._external_id(item)}",
                "referenceId": "lead",
                "body": self._lead(item),
                "httpHeaders": self._assignment_header(item.consultant),
            }
        ]
        if self._wants_task(item):
            requests.append(
                {
                    "method": "POST",
                    "url": f"{base}/Task",
                    "referenceId": "task",
                    "body": self._task(item, "@{lead.id}"),
                }
            )
        if self.config.campaign_id:
            requests.append(
                {
                    "method": "POST",
                    "url": f"{base}/CampaignMember",
                    "referenceId": "member",
                    "body": campaign_member_for(self.config.campaign_id, "@{lead.id}"),
                }
            )
        answer = self.client.call(
            "POST", "composite", json={"allOrNone": True, "compositeRequest": requests}
        )
        responses = {r["referenceId"]: r for r in answer["compositeResponse"]}
        for reference in ("lead", "task", "member"):
            response = responses.get(reference)
            if response is not None and response["httpStatusCode"] >= 300:
                errors = response["body"] if isinstance(response["body"], list) else [{}]
                real = [e for e in errors if e.get("errorCode") != "PROCESSING_HALTED"] or errors
                item.fail(error_for(real[0].get("errorCode", ""), real[0].get("message", "")))
        if item.error is None:
            item.lead_id = responses["lead"]["body"]["id"]

    # -- several jobs, or a retry: sObject Collections -------------------------------------

    def _send_collections(self, items: list[_Item]) -> None:
        new_leads = [item for item in items if item.contact_id is None]
        for owner_set in (True, False):  # the assignment header is per request, not per record
            group = [i for i in new_leads if bool(i.consultant.salesforce_user_id) is owner_set]
            for start in range(0, len(group), COLLECTION_LIMIT):
                self._upsert_leads(group[start : start + COLLECTION_LIMIT])
        self._create_followups([item for item in items if item.error is None and item.who_id])

    def _upsert_leads(self, items: list[_Item]) -> None:
        if not items:
            return
        records = [{"attributes": {"type": "Lead"}, **self._lead(item)} for item in items]
        results = self.client.call(
            "PATCH",
            f"composite/sobjects/Lead/{self.config.external_id_field}",
            json={"allOrNone": False, "records": records},
            headers=self._assignment_header(items[0].consultant),
        )
        for item, result in zip(items, results, strict=True):
            if result.get("success"):
                item.lead_id = result["id"]
            else:
                item.fail(_record_error(result))

    def _create_followups(self, items: list[_Item]) -> None:
        retried = [item for item in items if item.job.attempts > 1]
        existing = self._existing_tasks(retried) if retried else set()
        planned: list[tuple[_Item, dict[str, Any]]] = []
        for item in items:
            who_id = item.who_id or ""
            task = self._task(item, who_id)
            if self._wants_task(item) and (who_id, task["Subject"]) not in existing:
                planned.append((item, {"attributes": {"type": "Task"}, **task}))
            if self.config.campaign_id:
                member = campaign_member_for(self.config.campaign_id, who_id)
                planned.append((item, {"attributes": {"type": "CampaignMember"}, **member}))
        for start in range(0, len(planned), COLLECTION_LIMIT):
            chunk = planned[start : start + COLLECTION_LIMIT]
            results = self.client.call(
                "POST",
                "composite/sobjects",
                json={"allOrNone": False, "records": [record for _, record in chunk]},
            )
            for (item, _), result in zip(chunk, results, strict=True):
                codes = {e.get("statusCode") for e in result.get("errors", [])}
                if not result.get("success") and codes != {"DUPLICATE_VALUE"}:
                    item.fail(_record_error(result))  # (already a campaign member is fine)

    # -- the records -----------------------------------------------------------------------

    def _external_id(self, item: _Item) -> str:
        return format_external_id(self.config.external_id_field, item.submission.public_id)

    def _lead(self, item: _Item) -> dict[str, Any]:
        return lead_from_submission(
            item.submission,
            item.consultant,
            external_id_field=self.config.external_id_field,
            lead_source=self.config.lead_source,
            extra_fields=self.config.extra_lead_fields,
        )

    def _wants_task(self, item: _Item) -> bool:
        """Start-up help gets a follow-up task; so does an order from an existing contact,
        which gets no lead and would otherwise leave no trace in Salesforce."""
        return item.submission.kind is SubmissionKind.STARTUP_HELP or item.contact_id is not None

    def _task(self, item: _Item, who_id: str) -> dict[str, Any]:
        received = item.submission.created_at.astimezone(DANISH_TIME).date()
        due = working_days_after(received, self.config.task_due_working_days)
        return task_for(item.submission, item.consultant, who_id, due)

    @staticmethod
    def _assignment_header(consultant: Consultant) -> dict[str, str]:
        """With an owner from the routing, Salesforce's assignment rules must not move the
        lead; without one, they choose the owner."""
        return {"Sforce-Auto-Assign": "FALSE" if consultant.salesforce_user_id else "TRUE"}

    def _remember_records(self, items: list[_Item], session: Session) -> None:
        for item in items:
            if item.who_id:
                sobject = "Contact" if item.contact_id else "Lead"
                item.submission.salesforce_id = item.who_id
                item.submission.salesforce_object = sobject
                item.submission.salesforce_url = self.client.record_url(sobject, item.who_id)
        record_usage(session, self.client)  # for /metrics, in the same commit
        session.commit()
        usage = self.client.api_usage
        current_app.logger.info(
            "Salesforce: %d job(s) sent; %d API request(s) so far%s",
            len(items),
            self.client.api_requests,
            f"; daily usage {usage[0]}/{usage[1]}" if usage else "",
        )


def _record_error(result: dict[str, Any]) -> DeliveryError:
    errors = result.get("errors") or [{}]
    first = errors[0]
    error = error_for(first.get("statusCode", ""), first.get("message", ""))
    fields = first.get("fields")
    if fields:
        error = type(error)(f"{error} (felter: {', '.join(fields)})")
    return error
