"""The contract between the worker and its channels: the worker sees only `Channel`.

A channel delivers the jobs of one kind (e-mail, a Salesforce lead, a Salesforce erasure) and
says how each went. The worker owns the transaction: it claims the jobs, hands them over with
its session, and commits each job's outcome together with whatever the channel added to the
session (a lead's id on the submission, an audit event).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from intake.delivery.retry import RetryPolicy
from intake.models import DeliveryJob, JobKind

# A job's outcome: its external id (a Message-ID, a Salesforce id; None when there is none),
# or the error that ended the try (a DeliveryError; anything else is a bug in the channel).
Outcome = str | Exception | None


class Channel(Protocol):
    kind: JobKind
    # Jobs handed over together (one request for many, e.g. sObject Collections); 1: one by one.
    # A channel that takes more than one also takes, with a due job, the jobs waiting for a
    # retry (outbox.claim's with_waiting): they go again together.
    batch_size: int
    # When a try that failed for a reason that may pass is tried again, and whether ever given
    # up; None: the worker's policy (INTAKE_RETRY_*, INTAKE_MAX_ATTEMPTS).
    retry_policy: RetryPolicy | None
    # Its jobs are about submissions already anonymised (the Salesforce erasure): the worker
    # must not cancel them for that reason.
    acts_on_anonymised: bool
    # Its outcome is more than the external id: rows it added to the session (the lead's id
    # on the submission, an erasure's report). If the database loses that commit, the worker
    # runs the job again rather than recording only the id.
    reports_in_session: bool

    def deliver(self, jobs: Sequence[DeliveryJob], session: Session) -> Mapping[int, Outcome]:
        """Deliver the jobs; each job's outcome by its id. Never commits."""
        ...

    def delivered_after_cancel(self, session: Session, job: DeliveryJob) -> None:
        """A try went through after its job was cancelled (its submission was anonymised
        while the try was under way): undo what can be undone. The worker commits."""
        ...
