"""Turning a valid form into a stored submission with its outbox jobs, in one commit."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forms.contact import PublicForm
from forms.pamphlet_order import PamphletOrderForm
from forms.startup_help import StartupHelpForm
from forms.validated import required
from intake.delivery.outbox import jobs_for
from intake.labels import TOPICS
from intake.models import Base, DeliveryJob, OrderLine, OrderStatus, Submission, SubmissionKind
from intake.references import next_reference
from intake.routing.model import Route
from intake.timefmt import DANISH_TIME

# The tables store() writes to, as Core tables (plain INSERTs, see store()).
_SUBMISSIONS = Base.metadata.tables[Submission.__tablename__]
_ORDER_LINES = Base.metadata.tables[OrderLine.__tablename__]
_JOBS = Base.metadata.tables[DeliveryJob.__tablename__]


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


def find_by_key(session: Session, submission_key: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.submission_key == submission_key))


def find_by_public_id(session: Session, public_id: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.public_id == public_id))


def _contact(form: PublicForm, route: Route, kind: SubmissionKind, key: str) -> Submission:
    return Submission(
        public_id=secrets.token_hex(16),
        submission_key=key,
        kind=kind,
        organisation=form.organisation.data,
        first_name=form.first_name.data or "",
        last_name=form.last_name.data,
        email=form.email.data,
        phone=form.phone.data or "",
        role=form.role.data or "",
        cvr=form.cvr.data or "",
        municipality_code=route.municipality.code,
        municipality_name=route.municipality.name,
        kreds=route.municipality.kreds,
        consultant_key=route.consultant.key,
    )


def pamphlet_order_from_form(form: PamphletOrderForm, route: Route, key: str) -> Submission:
    submission = _contact(form, route, SubmissionKind.PAMPHLET_ORDER, key)
    submission.street = required(form.street.data, "street")
    submission.postcode = required(form.postcode.data, "postcode")
    submission.city = form.town()
    submission.attention = form.attention.data or ""
    submission.note = form.note.data or ""
    submission.order_status = OrderStatus.NEW
    submission.lines = [
        OrderLine(pamphlet_id=pamphlet.id, title=pamphlet.title, quantity=quantity)
        for pamphlet, quantity in form.ordered()
    ]
    return submission


def startup_help_from_form(form: StartupHelpForm, route: Route, key: str) -> Submission:
    submission = _contact(form, route, SubmissionKind.STARTUP_HELP, key)
    chosen = set(required(form.topics.data, "topics"))
    submission.topics = [value for value in TOPICS if value in chosen]  # in the form's order
    submission.existing_cooperation = form.existing_cooperation.data
    submission.participants = form.participants.data or ""
    submission.message = form.message.data or ""
    return submission


def store(
    session: Session,
    submission: Submission,
    alongside: Callable[[Submission], object] | None = None,
) -> Submission:
    """Number the submission, write it with its order lines and its delivery jobs, and commit
    them together, with whatever `alongside` adds to the session for the numbered submission
    (an audit event). The submission gets its id and reference.

    The rows are written as three plain INSERTs of values made beforehand, not through the
    ORM's unit of work: the first write (the number) takes the database's write lock until the
    commit, which on SQLite every other post waits for, so the work is done before it.

    A second post with the same one-time submission key (a double click, a browser resending
    after a timeout) hits the unique key; we roll back and return the first submission, so
    one rendered form gives one submission and one receipt.
    """
    values = {
        column.key: value
        for column in _SUBMISSIONS.columns
        if column.key not in ("id", "reference")
        and (value := getattr(submission, column.key)) is not None
    }
    lines = [
        {"pamphlet_id": line.pamphlet_id, "title": line.title, "quantity": line.quantity}
        for line in submission.lines
    ]
    year = datetime.now(DANISH_TIME).year
    try:
        submission.reference = next_reference(session, submission.kind.reference_prefix, year)
        submission.id = session.execute(
            _SUBMISSIONS.insert().returning(_SUBMISSIONS.c.id),
            {"reference": submission.reference, **values},
        ).scalar_one()
        if lines:
            session.execute(
                _ORDER_LINES.insert(), [{"submission_id": submission.id, **line} for line in lines]
            )
        session.execute(_JOBS.insert(), jobs_for(submission.id, submission.kind))
        if alongside is not None:
            alongside(submission)
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = find_by_key(session, submission.submission_key)
        if existing is None:
            raise
        return existing
    return submission
