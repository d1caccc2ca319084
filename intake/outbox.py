"""The transactional outbox: which deliveries a submission sets off.

The jobs are added to the same session as the submission, so they are committed with it
or not at all (DESIGN.md, "What a valid submission sets off").
"""

from __future__ import annotations

from intake.models import DeliveryJob, JobKind, JobTarget, Submission, SubmissionKind

JOBS_BY_KIND: dict[SubmissionKind, tuple[tuple[JobKind, JobTarget], ...]] = {
    SubmissionKind.PAMPHLET_ORDER: (
        (JobKind.EMAIL, JobTarget.PAMPHLET_OFFICE),
        (JobKind.EMAIL, JobTarget.CONSULTANT),
        (JobKind.EMAIL, JobTarget.REQUESTER),
        (JobKind.SALESFORCE, JobTarget.LEAD),
    ),
    SubmissionKind.STARTUP_HELP: (
        (JobKind.EMAIL, JobTarget.CONSULTANT),
        (JobKind.EMAIL, JobTarget.REQUESTER),
        (JobKind.SALESFORCE, JobTarget.LEAD),
    ),
}


def enqueue_for(submission: Submission) -> list[DeliveryJob]:
    """Attach the submission's delivery jobs to it (saved when the submission is)."""
    jobs = [DeliveryJob(kind=kind, target=target) for kind, target in JOBS_BY_KIND[submission.kind]]
    submission.jobs.extend(jobs)
    return jobs
