"""The worker's Salesforce channel: a CRM job becomes a Lead with its follow-up (crm_sync.leads).

This is the adapter between the outbox and crm_sync, which knows nothing of jobs: it looks up
each job's consultant (the owner of the records), hands the submissions to crm_sync, and turns
what came back into the jobs' outcomes. It writes the records' ids on the submissions and the
API usage (for /metrics) into the worker's session, which the worker commits with the jobs'
outcomes; if that commit is lost, the job runs again and the upsert finds its lead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.errors import CrmError, CrmRejected
from crm_sync.leads import LeadRequest, LeadSender
from intake.delivery.channel import Outcome
from intake.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RejectedData,
    TransientDeliveryError,
)
from intake.delivery.salesforce_usage import record_usage
from intake.models import DeliveryJob, JobKind
from intake.observability.log_context import get_logger
from intake.privacy.anonymise import erase_again
from intake.routing.model import NoConsultant, Routing

log = get_logger(__name__)


def delivery_error(error: CrmError) -> DeliveryError:
    """How the worker treats a Salesforce error: rejected data is dead at once (the message
    may quote it), anything else is retried."""
    if isinstance(error, CrmRejected):
        return RejectedData(str(error))
    return TransientDeliveryError(str(error))


class SalesforceChannel:
    kind = JobKind.SALESFORCE
    acts_on_anonymised = False
    reports_in_session = True  # the records' ids on the submission

    def __init__(
        self, config: SalesforceConfig, client: SalesforceClient, routing: Callable[[], Routing]
    ) -> None:
        self.client = client
        self.sender = LeadSender(config, client)
        self.batch_size = config.batch_size
        self.routing = routing  # the routing in force when a job is delivered

    def deliver(self, jobs: Sequence[DeliveryJob], session: Session) -> dict[int, Outcome]:
        """Send the jobs' submissions together; each job's Salesforce id, or its own error."""
        routing = self.routing()
        outcomes: dict[int, Outcome] = {}
        sent: list[tuple[DeliveryJob, LeadRequest]] = []
        for job in jobs:
            submission = job.submission
            try:
                consultant = routing.consultant_of(
                    submission.consultant_key, submission.municipality_code
                )
            except NoConsultant as error:  # this job only
                outcomes[job.id] = PermanentDeliveryError(str(error))
                continue
            request = LeadRequest(job.submission, consultant.salesforce_user_id, job.attempts > 1)
            sent.append((job, request))
        self.sender.send([request for _, request in sent])
        for job, request in sent:
            self._remember_record(request)
            outcomes[job.id] = delivery_error(request.error) if request.error else request.who_id
        record_usage(session, self.client)  # for /metrics, in the worker's commit
        usage = self.client.api_usage
        log.info(
            "Salesforce: %d job(s) sent; %d API request(s) so far%s",
            len(sent),
            self.client.api_requests,
            f"; daily usage {usage[0]}/{usage[1]}" if usage else "",
        )
        return outcomes

    def delivered_after_cancel(self, session: Session, job: DeliveryJob) -> None:
        """The lead may have been made after the erasure looked for it: erase again."""
        if erase_again(session, job.submission_id):
            log.warning("Queued the deletion of the lead of %s again", job.submission.reference)

    def _remember_record(self, request: LeadRequest) -> None:
        """The record that follows the submission up: its lead, or the existing contact."""
        if request.who_id:
            sobject = "Contact" if request.contact_id else "Lead"
            submission = request.submission
            submission.salesforce_id = request.who_id
            submission.salesforce_object = sobject
            submission.salesforce_url = self.client.record_url(sobject, request.who_id)
