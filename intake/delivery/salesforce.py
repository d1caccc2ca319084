"""The worker's Salesforce channel: a CRM job becomes a Lead with its follow-up (crm_sync.leads).

This is the adapter between the outbox and crm_sync, which knows nothing of jobs: it looks up
each job's consultant (the owner of the records) and, in the contact index, whether its
person is an existing contact; hands the submissions to crm_sync; and turns what came back
into the jobs' outcomes. It writes the records' ids on the submissions and the API usage
(for /metrics) into the worker's session, which the worker commits with the jobs' outcomes;
if that commit is lost, the job runs again and its look-up finds the lead and task.

A fault that may pass (Salesforce unreachable, its allowance spent, maintenance, 429, 5xx)
is retried by `retry_policy` for as long as it lasts, never dead; /healthz and /metrics say
since when the CRM has been behind (intake.delivery.crm_status).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from crm_sync.client import SalesforceClient
from crm_sync.config import SalesforceConfig
from crm_sync.errors import CrmError, CrmRejected, CrmUnavailable
from crm_sync.leads import LeadRequest, LeadSender
from intake.delivery.channel import Outcome
from intake.delivery.contact_index import ContactIndex
from intake.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RejectedData,
    TransientDeliveryError,
)
from intake.delivery.retry import RetryPolicy
from intake.delivery.salesforce_usage import record_usage
from intake.models import DeliveryJob, JobKind
from intake.observability.log_context import get_logger
from intake.privacy.anonymise import erase_again
from intake.routing.model import NoConsultant, Routing

log = get_logger(__name__)


def delivery_error(error: CrmError) -> DeliveryError:
    """How the worker treats a Salesforce error: rejected data is dead at once (the message
    may quote it), anything else is retried (after Retry-After, if Salesforce gave one)."""
    if isinstance(error, CrmRejected):
        return RejectedData(str(error))
    retry_after = error.retry_after if isinstance(error, CrmUnavailable) else None
    return TransientDeliveryError(str(error), retry_after=retry_after)


class SalesforceChannel:
    kind = JobKind.SALESFORCE
    acts_on_anonymised = False
    reports_in_session = True  # the records' ids on the submission

    def __init__(
        self,
        config: SalesforceConfig,
        client: SalesforceClient,
        routing: Callable[[], Routing],
        *,
        retry_policy: RetryPolicy,
        contacts: ContactIndex | None,
    ) -> None:
        self.client = client
        self.sender = LeadSender(config, client)
        self.batch_size = config.batch_size
        self.retry_policy: RetryPolicy | None = retry_policy  # waits out any outage
        self.routing = routing  # the routing in force when a job is delivered
        self.contacts = contacts  # None: SALESFORCE_MATCH_CONTACTS is off

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
            # Tried before (or put back by staff): its records may exist; look them up first.
            retry = job.attempts > 1 or bool(job.last_error)
            request = LeadRequest(job.submission, consultant.salesforce_user_id, retry)
            sent.append((job, request))
        requests = [request for _, request in sent]
        try:
            self._match_contacts(session, requests)
        except CrmUnavailable as error:  # Salesforce is not there: every job waits
            for request in requests:
                request.fail(error)
        except CrmRejected as error:  # e.g. no access to Contact: match with the index as is
            log.error("The contact index could not be refreshed: %s", error)
            self._match_contacts(session, requests, refresh=False)
        self.sender.send(requests)
        if self.contacts is not None:
            gone = [r.contact_id for r in requests if r.contact_gone and r.contact_id]
            self.contacts.forget(session, gone)
        for job, request in sent:
            outcomes[job.id] = self._outcome(request)
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

    def _match_contacts(
        self, session: Session, requests: list[LeadRequest], *, refresh: bool = True
    ) -> None:
        """Set each request's existing contact, from the index (refreshed first if due)."""
        if self.contacts is None or not requests:
            return
        if refresh:
            self.contacts.refresh_if_due(session.get_bind(), self.client)
        found = self.contacts.contacts_for(session, [r.submission.email for r in requests])
        for request in requests:
            request.contact_id = found.get(request.submission.email)

    def _outcome(self, request: LeadRequest) -> Outcome:
        """The record that follows the submission up (its lead, the existing contact, the
        contact its lead was converted into), written on the submission; or the error."""
        if request.error is not None:
            return delivery_error(request.error)
        if not request.who_id:  # cannot happen; if it did, try again rather than lose it
            return TransientDeliveryError("Salesforce gav intet id for leadet")
        submission = request.submission
        submission.salesforce_id = request.who_id
        submission.salesforce_object = request.sobject
        submission.salesforce_url = self.client.record_url(request.sobject, request.who_id)
        return request.who_id
