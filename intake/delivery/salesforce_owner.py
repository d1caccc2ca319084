"""The worker's channel for a request sent on to another consultant: its Salesforce lead (and
the lead's open follow-up tasks) get the new consultant as owner (crm_sync.owner).

The lead is made by the request's own Salesforce job; until that job is done this one waits
(a retry), so the owner is never set on a lead that is then made with the old one. Setting an
owner is idempotent, so a repeated try does no harm. A consultant without a Salesforce user id
in the routing cannot own records: the job is done with an outcome that says so. A converted
lead is left alone, as Salesforce requires. Like the lead's job, a fault that may pass is
waited out; the outcome and an audit event go into the worker's session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.errors import CrmError
from crm_sync.owner import OwnerChange, change_owner
from intake import audit
from intake.delivery.channel import Outcome
from intake.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from intake.delivery.retry import RetryPolicy
from intake.delivery.salesforce import delivery_error
from intake.delivery.salesforce_usage import record_usage
from intake.forwarding import forward_of
from intake.models import DeliveryJob, JobKind, JobStatus, JobTarget, Submission
from intake.routing.model import Consultant, NoConsultant, Routing
from intake.text import counted

ACTOR = "worker"
LEAD_NOT_YET = "Leadet er ikke sendt til Salesforce endnu; ejeren skiftes, når det er"


def _lead_job(submission: Submission) -> DeliveryJob | None:
    return next(
        (
            job
            for job in submission.jobs
            if job.kind is JobKind.SALESFORCE
            and job.target is JobTarget.LEAD
            and job.forward_number == 0
        ),
        None,
    )


class SalesforceOwnerChannel:
    kind = JobKind.SALESFORCE_OWNER
    batch_size = 1
    acts_on_anonymised = False
    reports_in_session = True  # the outcome and the audit event

    def __init__(
        self,
        config: SalesforceConfig,
        client: SalesforceClient,
        routing: Callable[[], Routing],
        retry_policy: RetryPolicy,
    ) -> None:
        self.client = client
        self.external_id_field = config.external_id_field
        self.routing = routing  # the routing in force when a job is delivered
        self.retry_policy: RetryPolicy | None = retry_policy  # waits out any outage

    def deliver(self, jobs: Sequence[DeliveryJob], session: Session) -> dict[int, Outcome]:
        routing = self.routing()
        outcomes: dict[int, Outcome] = {}
        for job in jobs:
            outcomes[job.id] = self._deliver_one(session, job, routing)
        record_usage(session, self.client)  # for /metrics, in the worker's commit
        return outcomes

    def _deliver_one(self, session: Session, job: DeliveryJob, routing: Routing) -> Outcome:
        submission = job.submission
        sent_on = forward_of(job)
        if sent_on is None:
            return PermanentDeliveryError("Jobbet hører ikke til en videresendelse")
        try:
            owner = routing.consultant_of(sent_on.to_consultant_key, submission.municipality_code)
        except NoConsultant as error:
            return PermanentDeliveryError(str(error))
        if not owner.salesforce_user_id:
            return self._report(
                session,
                job,
                f"{owner.name} har intet Salesforce-bruger-id i routingen, så ejeren i "
                "Salesforce er ikke ændret. Skriv id'et på siden Konsulenter, og sæt ejeren i "
                "Salesforce.",
                None,
            )
        lead_job = _lead_job(submission)
        if lead_job is not None and lead_job.status in (JobStatus.PENDING, JobStatus.RUNNING):
            return TransientDeliveryError(LEAD_NOT_YET)
        contact = submission.salesforce_id if submission.salesforce_object == "Contact" else None
        try:
            change = change_owner(
                self.client,
                self.external_id_field,
                submission.public_id,
                owner.salesforce_user_id,
                contact_id=contact,
            )
        except CrmError as error:
            return delivery_error(error)
        return self._report(session, job, _describe(change, owner), change.lead_id)

    def _report(
        self, session: Session, job: DeliveryJob, outcome: str, lead_id: str | None
    ) -> str | None:
        job.outcome = outcome
        audit.record(
            session, ACTOR, "salesforce_owner_changed", submission=job.submission, detail=outcome
        )
        return lead_id

    def delivered_after_cancel(self, session: Session, job: DeliveryJob) -> None:
        """The person's data was erased meanwhile: their lead is being deleted; nothing to do."""


def _describe(change: OwnerChange, owner: Consultant) -> str:
    who = f"{owner.name} ({owner.salesforce_user_id})"
    if change.converted:
        return (
            f"Lead {change.lead_id} er konverteret og er ikke ændret; sæt selv ejeren i "
            f"Salesforce til {who}, hvis det skal være."
        )
    open_tasks = counted(change.tasks, "åben opgave", "åbne opgaver")
    tasks = f" og {open_tasks}" if change.tasks else ""
    if change.lead_id is None:
        if change.tasks:
            return f"Intet lead (en eksisterende kontakt); {open_tasks} ejes nu af {who}."
        return "Intet lead fundet i Salesforce; ingen ejer at ændre."
    return f"Lead {change.lead_id}{tasks} ejes nu af {who}."
