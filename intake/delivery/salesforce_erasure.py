"""The worker's Salesforce erasure channel: after `intake person erase`, the lead we made for
each of the person's submissions is deleted, unless a consultant has converted it.

A converted lead (`IsConverted`) is part of BL's own CRM work now: it is left alone and
reported, in the job's outcome (/admin/deliveries/) and the audit log, for BL to handle in
Salesforce. So is an existing Contact that a submission was linked to instead of a lead.
Repeating a job is harmless: a lead already gone is "not found". Salesforce being down makes
every job of the batch wait for a retry. The outcome and the audit event go into the worker's
session, committed with the job's status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.erasure import delete_leads, find_leads
from crm_sync.errors import CrmError
from intake import audit
from intake.delivery.channel import Outcome
from intake.delivery.retry import RetryPolicy
from intake.delivery.salesforce import delivery_error
from intake.delivery.salesforce_usage import record_usage
from intake.models import DeliveryJob, JobKind

ACTOR = "worker"


class SalesforceErasureChannel:
    kind = JobKind.SALESFORCE_ERASE
    acts_on_anonymised = True  # its submissions are anonymised by the erasure itself
    reports_in_session = True  # the outcome, the audit event, the cleared Salesforce id

    def __init__(
        self, config: SalesforceConfig, client: SalesforceClient, retry_policy: RetryPolicy
    ) -> None:
        self.client = client
        self.external_id_field = config.external_id_field
        self.batch_size = config.batch_size
        self.retry_policy: RetryPolicy | None = retry_policy  # waits out any outage

    def deliver(self, jobs: Sequence[DeliveryJob], session: Session) -> dict[int, Outcome]:
        """Delete the jobs' unconverted leads; each job's lead id (None: no lead), or its error."""
        by_key = {job.submission.public_id.casefold(): job for job in jobs}
        try:
            leads = find_leads(self.client, self.external_id_field, sorted(by_key))
            failures = delete_leads(
                self.client, [lead["Id"] for lead in leads if not lead["IsConverted"]]
            )
        except CrmError as error:  # the request as a whole failed: every job waits
            record_usage(session, self.client)
            return {job.id: delivery_error(error) for job in jobs}
        # The API requests, for /metrics. Not in a `finally`: a database error there would hide
        # the error on its way out; requests not recorded now are recorded with the next ones.
        record_usage(session, self.client)
        found = {str(lead[self.external_id_field]).casefold(): lead for lead in leads}
        outcomes: dict[int, Outcome] = {}
        for key, job in by_key.items():
            lead = found.get(key)
            failure = failures.get(lead["Id"]) if lead else None
            outcomes[job.id] = delivery_error(failure) if failure else _report(session, job, lead)
        return outcomes

    def delivered_after_cancel(self, session: Session, job: DeliveryJob) -> None:
        """Never cancelled for an anonymisation: it acts on anonymised submissions."""


def _report(session: Session, job: DeliveryJob, lead: dict[str, Any] | None) -> str | None:
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
            job.outcome = "Intet lead fundet i Salesforce (aldrig oprettet eller allerede slettet)."
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
