"""Posts held as likely spam: kept, never lost, and never sent on until staff say so.

A post that fills the form's hidden field (the honeypot, "website") is most likely a bot, but a
password manager that fills every field does it too. So it is not refused: `hold` keeps the
request it would have made, as a HeldPost, and the person is told it waits to be checked. It
has no reference, goes to no one and is counted nowhere. At /admin/held/ staff release it (it is
then stored like any submission: a reference, its deliveries, the receipt e-mail; see
intake.backoffice.held_pages) or delete it. `intake purge` deletes what is left after
INTAKE_HELD_DAYS (intake.privacy.anonymise).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.models import HeldPost, OrderLine, OrderStatus, Submission, SubmissionKind
from intake.routing.model import Routing

# What a held post keeps of the request: the person's own fields, as checked and cleaned. What
# the routing adds (municipality name, kreds, consultant) is looked up again on release.
FIELDS = (
    "organisation",
    "first_name",
    "last_name",
    "email",
    "phone",
    "role",
    "cvr",
    "municipality_code",
    "street",
    "postcode",
    "city",
    "attention",
    "note",
    "topics",
    "existing_cooperation",
    "participants",
    "message",
    "language",  # the receipt goes out in it once released
)
TRAP_LENGTH = 255


def hold(session: Session, submission: Submission, trap: str) -> HeldPost:
    """Keep a checked but not stored request as held, and commit. `trap` is what the hidden
    field held (staff see it: a link is a bot, a name is a password manager)."""
    post = HeldPost(
        public_id=submission.public_id,
        kind=submission.kind,
        submission_key=submission.submission_key,
        email=submission.email,
        form_data={
            **{
                name: getattr(submission, name)
                for name in FIELDS
                if getattr(submission, name) is not None  # the other form's fields
            },
            "lines": [
                {"pamphlet_id": line.pamphlet_id, "title": line.title, "quantity": line.quantity}
                for line in submission.lines
            ],
        },
        trap=trap[:TRAP_LENGTH],
    )
    session.add(post)
    try:
        session.commit()
    except IntegrityError:  # the same form posted twice at once: keep the first
        session.rollback()
        first = find_by_key(session, submission.submission_key)
        if first is None:
            raise
        return first
    return post


def find_by_key(session: Session, submission_key: str) -> HeldPost | None:
    """The held post of a form (its one-time key): a second press of the same form."""
    return session.scalar(select(HeldPost).where(HeldPost.submission_key == submission_key))


def find(session: Session, public_id: str) -> HeldPost | None:
    return session.scalar(select(HeldPost).where(HeldPost.public_id == public_id))


def waiting(session: Session) -> list[HeldPost]:
    """Every held post, oldest first (the first to be deleted by the purge)."""
    return list(session.scalars(select(HeldPost).order_by(HeldPost.received_at, HeldPost.id)))


def to_submission(post: HeldPost, routing: Routing) -> Submission:
    """The request the post would have made, routed by the routing in force now; not yet
    numbered or stored (intake.submissions.store does that). Received when it was posted.

    KeyError when the routing no longer knows its municipality."""
    data: dict[str, Any] = post.form_data
    route = routing.route(data["municipality_code"])
    submission = Submission(
        public_id=post.public_id,
        submission_key=post.submission_key,
        kind=post.kind,
        created_at=post.received_at,
        **{name: data[name] for name in FIELDS if name in data},
        municipality_name=route.municipality.name,
        kreds=route.municipality.kreds,
        consultant_key=route.consultant.key,
    )
    if post.kind is SubmissionKind.PAMPHLET_ORDER:
        submission.order_status = OrderStatus.NEW
        submission.lines = [
            OrderLine(
                pamphlet_id=line["pamphlet_id"], title=line["title"], quantity=line["quantity"]
            )
            for line in data.get("lines", [])
        ]
    return submission
