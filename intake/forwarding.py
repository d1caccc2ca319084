"""Sending a request on to another consultant (the back office's request page).

The request is the new consultant's from then on (`consultant_key`). In one commit with the
`Forward` row and its audit event, three jobs are written, all numbered with the forward:
the request's e-mail to the new consultant (saying it was sent on, and by whom), a note to the
consultant it came from, and the Salesforce lead's new owner (intake.delivery.salesforce_owner).
The worker delivers them like any others: each at least once, retried, idempotent.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake import audit
from intake.models import DeliveryJob, Forward, JobKind, JobTarget, Submission
from intake.routing.model import Consultant

FORWARD_JOBS = (
    (JobKind.SALESFORCE_OWNER, JobTarget.LEAD),
    (JobKind.EMAIL, JobTarget.CONSULTANT),
    (JobKind.EMAIL, JobTarget.PREVIOUS_CONSULTANT),
)


class ForwardedMeanwhile(Exception):
    """Someone else sent the request on at the same moment: nothing was written."""


def forward(
    session: Session,
    submission: Submission,
    previous: Consultant,
    to: Consultant,
    by: str,
    note: str = "",
) -> Forward:
    """Send the request on to `to`; committed with its jobs and its audit event."""
    last = session.scalar(
        select(func.max(Forward.number)).where(Forward.submission_id == submission.id)
    )
    sent_on = Forward(
        submission_id=submission.id,
        number=(last or 0) + 1,
        from_consultant_key=submission.consultant_key,
        to_consultant_key=to.key,
        by=by,
        note=note,
    )
    session.add(sent_on)
    submission.consultant_key = to.key
    for kind, target in FORWARD_JOBS:
        session.add(
            DeliveryJob(
                submission_id=submission.id,
                kind=kind,
                target=target,
                forward_number=sent_on.number,
            )
        )
    detail = f"Fra {previous.name} ({previous.email}) til {to.name} ({to.email})."
    if note:
        detail += f" Besked: {note}"
    audit.record(session, by, "request_forwarded", submission=submission, detail=detail)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ForwardedMeanwhile() from None
    return sent_on


def forward_of(job: DeliveryJob) -> Forward | None:
    """The sending-on a job belongs to (None: the submission's own job)."""
    if not job.forward_number:
        return None
    return next(f for f in job.submission.forwards if f.number == job.forward_number)


def consultant_key_for(job: DeliveryJob) -> str:
    """Whose job it is: the consultant a request's own e-mail went to (the first), the one it
    was sent on to, or the one it came from (their note); otherwise whose request it is now."""
    submission = job.submission
    sent_on = forward_of(job)
    if sent_on is not None:
        if job.target is JobTarget.PREVIOUS_CONSULTANT:
            return sent_on.from_consultant_key
        return sent_on.to_consultant_key
    if job.target is JobTarget.CONSULTANT and submission.forwards:
        return submission.forwards[0].from_consultant_key
    return submission.consultant_key
