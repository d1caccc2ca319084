"""Everything BL Intake holds about one e-mail address, as JSON (`intake person export`): a
person's right of access (GDPR art. 15) and to data portability (art. 20).

It holds: the person's submissions with every field, their order lines, the state of their
deliveries, the audit events about them and their sendings-on to another consultant (with
staff's notes); posts of theirs held as likely spam (intake.held); and, if the address is a
back-office account's, that account (without its password hash or second factor's secret), the
actions it took, its sessions and the tries to sign in with it (with the addresses they came
from).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import (
    AuditEvent,
    DeliveryJob,
    HeldPost,
    SignInAttempt,
    StaffSession,
    Submission,
    utcnow,
)
from intake.privacy.anonymise import held_posts_of, submissions_of
from intake.staff.accounts import find as find_staff

SUBMISSION_FIELDS = (
    "reference",
    "kind",
    "created_at",
    "organisation",
    "cvr",
    "first_name",
    "last_name",
    "email",
    "phone",
    "role",
    "consent_at",
    "municipality_code",
    "municipality_name",
    "kreds",
    "street",
    "postcode",
    "city",
    "attention",
    "note",
    "order_status",
    "packed_at",
    "shipped_at",
    "cancelled_at",
    "status_note",
    "parcel_number",
    "topics",
    "existing_cooperation",
    "participants",
    "message",
    "salesforce_object",
    "salesforce_id",
    "salesforce_url",
    "language",
    "crm_lead_status",
    "crm_converted",
    "crm_task_status",
)
JOB_FIELDS = (
    "kind",
    "target",
    "status",
    "attempts",
    "created_at",
    "finished_at",
    "last_error",
    "outcome",
)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def _row(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _value(getattr(obj, name)) for name in names}


def _event(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "detail": event.detail,
    }


def _staff_actions(session: Session, email: str) -> list[dict[str, Any]]:
    """What a staff member did. An action on somebody's submission names only its reference:
    its detail (a note, a reason, a delivery error) is about that other person."""
    rows = session.execute(
        select(AuditEvent, Submission.reference)
        .outerjoin(Submission, AuditEvent.submission_id == Submission.id)
        .where(AuditEvent.actor == email)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [
        _event(event)
        if reference is None
        else {"at": event.at.isoformat(), "action": event.action, "reference": reference}
        for event, reference in rows
    ]


def _submission(session: Session, submission: Submission) -> dict[str, Any]:
    data = _row(submission, SUBMISSION_FIELDS)
    data["order_lines"] = [
        {"title": line.title, "quantity": line.quantity} for line in submission.lines
    ]
    jobs = session.scalars(
        select(DeliveryJob)
        .where(DeliveryJob.submission_id == submission.id)
        .order_by(DeliveryJob.id)
    )
    data["deliveries"] = [_row(job, JOB_FIELDS) for job in jobs]
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    data["audit_events"] = [_event(event) for event in events]
    data["sent_on"] = [  # to another consultant by staff, with why (intake.forwarding)
        {
            "at": sent_on.at.isoformat(),
            "by": sent_on.by,
            "from_consultant": sent_on.from_consultant_key,
            "to_consultant": sent_on.to_consultant_key,
            "note": sent_on.note,
        }
        for sent_on in sorted(submission.forwards, key=lambda f: f.number)
    ]
    return data


def _held(post: HeldPost) -> dict[str, Any]:
    return {
        "kind": post.kind.value,
        "received_at": post.received_at.isoformat(),
        "fields": post.form_data,
        "hidden_field": post.trap,
    }


def export_person(session: Session, address: str) -> dict[str, Any]:
    """The person's data as a JSON-ready dict; `found` is False when nothing is held."""
    submissions = submissions_of(session, address)
    held = held_posts_of(session, address)
    staff = find_staff(session, address)
    account: dict[str, Any] | None = None
    if staff is not None:
        account = {
            "email": staff.email,
            "role": staff.role.value,
            "active": staff.active,
            "created_at": _value(staff.created_at),
            "last_login_at": _value(staff.last_login_at),
            "second_factor_since": _value(staff.totp_enabled_at),
            "actions": _staff_actions(session, staff.email),
            "sessions": [
                _row(row, ("created_at", "last_seen_at", "address", "user_agent"))
                for row in session.scalars(
                    select(StaffSession).where(StaffSession.user_id == staff.id)
                )
            ],
            "sign_in_attempts": [
                _row(row, ("at", "address", "outcome"))
                for row in session.scalars(
                    select(SignInAttempt)
                    .where(SignInAttempt.email == staff.email)
                    .order_by(SignInAttempt.at)
                )
            ],
        }
    return {
        "email": address.strip(),
        "exported_at": utcnow().isoformat(),
        "found": bool(submissions or held or account),
        "submissions": [_submission(session, submission) for submission in submissions],
        "held_posts": [_held(post) for post in held],
        "staff_account": account,
    }
