"""The audit log: every staff action, with who, when and what."""

from __future__ import annotations

from sqlalchemy.orm import Session

from intake.models import AuditEvent, Submission


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    submission: Submission | None = None,
    detail: str = "",
) -> AuditEvent:
    """Add an event to the session; it is saved with the caller's commit."""
    event = AuditEvent(
        actor=actor[:254],  # the column's length; a sign-in attempt may name anything
        action=action,
        submission_id=submission.id if submission is not None else None,
        detail=detail,
    )
    session.add(event)
    return event
