"""The worker's Salesforce erasure channel: after `intake person erase`, the lead we made for
each of the person's submissions is deleted, unless a consultant has converted it.

A lead is found by SALESFORCE_EXTERNAL_ID_FIELD, which holds the submission's public id (it
survives the anonymisation). A converted lead (`IsConverted`) is part of BL's own CRM work
now: it is left alone and reported, in the job's outcome (/admin/deliveries/) and the audit
log, for BL to handle in Salesforce. So is an existing Contact that a submission was linked to
instead of a lead. Salesforce deletes a lead's tasks and campaign memberships with it.

API requests for a batch of jobs: one query per 100 submissions and one sObject Collections
delete per 200 leads. Repeating a job is harmless: a lead already gone is "not found".
Salesforce being down (CrmUnavailable) makes every job of the batch wait for a retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simple_salesforce.format import format_soql
from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.errors import CrmError, error_for
from crm_sync.usage import record_usage
from intake import audit
from intake.delivery import DeliveryError
from intake.models import DeliveryJob, JobKind

IDS_PER_QUERY = 100  # keeps the query's URL short
IDS_PER_DELETE = 200  # sObject Collections' limit
GONE = "ENTITY_IS_DELETED"  # deleting what is already deleted: done
ACTOR = "worker"


class SalesforceErasureChannel:
    kind = JobKind.SALESFORCE_ERASE

    def __init__(self, config: SalesforceConfig, client: SalesforceClient | None = None) -> None:
        self.config = config
        self.client = client or SalesforceClient(config)
        self.batch_size = config.batch_size

    def deliver(self, job: DeliveryJob, session: Session) -> str | None:
        outcome = self.deliver_batch([job], session)[job.id]
        if isinstance(outcome, DeliveryError):
            raise outcome
        return outcome

    def deliver_batch(
        self, jobs: Sequence[DeliveryJob], session: Session
    ) -> dict[int, str | DeliveryError | None]:
        """Delete the jobs' unconverted leads; each job's lead id (None: no lead), or its error.

        The outcome and the audit event are added to the session, for the worker to commit
        with the job's status."""
        by_key = {job.submission.public_id.casefold(): job for job in jobs}
        try:
            leads = self._find_leads(sorted(by_key))
            failures = self._delete([lead["Id"] for lead in leads if not lead["IsConverted"]])
        except CrmError as error:  # the request as a whole failed: every job waits
            record_usage(session, self.client)
            return {job.id: error for job in jobs}
        # The API requests, for /metrics. Not in a `finally`: a database error there would hide
        # the error on its way out; requests not recorded now are recorded with the next ones.
        record_usage(session, self.client)
        found = {str(lead[self.config.external_id_field]).casefold(): lead for lead in leads}
        outcomes: dict[int, str | DeliveryError | None] = {}
        for key, job in by_key.items():
            lead = found.get(key)
            failure = failures.get(lead["Id"]) if lead else None
            outcomes[job.id] = failure or self._report(session, job, lead)
        return outcomes

    def _find_leads(self, public_ids: list[str]) -> list[dict[str, Any]]:
        field = self.config.external_id_field
        leads: list[dict[str, Any]] = []
        for start in range(0, len(public_ids), IDS_PER_QUERY):
            chunk = public_ids[start : start + IDS_PER_QUERY]
            soql = format_soql(
                "SELECT Id, IsConverted, ConvertedContactId, {field:literal} FROM Lead "
                "WHERE {field:literal} IN {ids}",
                field=field,
                ids=chunk,
            )
            leads += self.client.query(soql)
        return leads

    def _delete(self, lead_ids: list[str]) -> dict[str, DeliveryError]:
        """Delete the leads; the errors of those Salesforce would not delete, by lead id."""
        failures: dict[str, DeliveryError] = {}
        for start in range(0, len(lead_ids), IDS_PER_DELETE):
            chunk = lead_ids[start : start + IDS_PER_DELETE]
            results = self.client.call(
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

    def _report(
        self, session: Session, job: DeliveryJob, lead: dict[str, Any] | None
    ) -> str | None:
        """Record what became of the job's lead (job outcome and audit event); its id."""
        submission = job.submission
        if lead is None:
            lead_id = None
            action = "salesforce_no_lead"
            if submission.salesforce_object == "Contact":
                job.outcome = (
                    "Intet lead at slette: henvendelsen blev knyttet til en eksisterende kontakt "
                    f"i Salesforce ({submission.salesforce_id}), som ikke slettes automatisk."
                )
            else:
                job.outcome = (
                    "Intet lead fundet i Salesforce (aldrig oprettet eller allerede slettet)."
                )
                submission.salesforce_id = submission.salesforce_object = None
                submission.salesforce_url = None
        elif lead["IsConverted"]:
            lead_id = lead["Id"]
            action = "salesforce_lead_kept"
            contact = lead.get("ConvertedContactId") or "?"
            job.outcome = (
                f"Lead {lead_id} er konverteret til kontakt {contact} og er ikke slettet. "
                "BL skal selv tage stilling til sletning i Salesforce."
            )
        else:
            lead_id = lead["Id"]
            action = "salesforce_lead_deleted"
            job.outcome = f"Lead {lead_id} er slettet i Salesforce."
            submission.salesforce_id = submission.salesforce_object = None
            submission.salesforce_url = None
        audit.record(session, ACTOR, action, submission=submission, detail=job.outcome)
        return lead_id
