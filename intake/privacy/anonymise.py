"""Personal data: anonymising submissions, after the retention period (`intake purge`) or when
a person asks (`intake person erase`), and finding a person's submissions by e-mail.

Anonymising blanks every field that says something about the person (PERSONAL_FIELDS) and
keeps what the overview counts: kind, municipality, kreds, consultant, dates, order lines,
status, topics and whether a cooperation exists. In the same transaction it

- cancels the submission's deliveries that no worker has claimed (pending or dead): an e-mail
  must never go out with blanked fields, and a Salesforce upsert must not make a lead again
  after an erasure. A job a worker is sending (running) is left to that worker, which read the
  submission before it was anonymised; if that try fails, or the job is taken again after its
  lease ran out, the worker cancels it instead (intake.delivery.worker);
- cancels a pamphlet order still waiting to be packed or shipped (there is no address left);
- blanks the text that may repeat personal data: the jobs' last errors (a mail server's
  "unknown user <address>"), the details of the submission's audit events (staff notes,
  parcel numbers) and the notes staff wrote when they sent it on to another consultant. Who
  did what, and when, stays.

Each change is one UPDATE whose WHERE says what may still change (a job not claimed, an order
not sent), not a write of what was read: on SQLite the read locks nothing, so the office or a
worker may have moved on since. On PostgreSQL the UPDATE waits for a worker claiming the job at
that moment and then leaves it alone (READ COMMITTED re-checks the WHERE).

What this cannot reach: .eml files already written to INTAKE_MAIL_DIR, copies in mailboxes and
mail-server logs, and Salesforce (an erasure queues a job that deletes the lead,
intake.delivery.salesforce_erasure; the purge leaves Salesforce to BL's own CRM rules).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import ColumnElement

from intake import audit
from intake.db import rows_matched
from intake.models import (
    WAITING_ORDER,
    AuditEvent,
    DeliveryJob,
    Forward,
    HeldPost,
    JobKind,
    JobStatus,
    JobTarget,
    OrderStatus,
    Submission,
    SubmissionKind,
    utcnow,
)
from intake.text import ascii_address, counted

ACTOR = "cli"
ANONYMISED_ORGANISATION = "(anonymiseret)"

# Every personal field, and what it becomes.
PERSONAL_FIELDS: dict[str, str] = {
    "organisation": ANONYMISED_ORGANISATION,
    "first_name": "",
    "last_name": "",
    "email": "",
    "phone": "",
    "role": "",
    "cvr": "",
    "street": "",
    "postcode": "",
    "city": "",
    "attention": "",
    "note": "",
    "status_note": "",
    "parcel_number": "",
    "participants": "",
    "message": "",
}

UNCLAIMED = (JobStatus.PENDING, JobStatus.DEAD)  # what an anonymisation cancels
ERASURE_KINDS = frozenset({JobKind.SALESFORCE_ERASE})  # the jobs an anonymisation leaves alone
# A job's outcome when its submission was anonymised before it went out (here, or by the worker).
CANCELLED_OUTCOME = (
    "Annulleret: henvendelsens personoplysninger blev slettet, før leverancen gik ud."
)
BATCH = 500  # submissions anonymised per transaction by the purge
HELD_POSTS = ("tilbageholdt henvendelse", "tilbageholdte henvendelser")  # for the audit log


@dataclass
class Anonymised:
    """What anonymising some submissions did."""

    references: list[str] = field(default_factory=list)
    by_kind: dict[SubmissionKind, int] = field(default_factory=dict)
    cancelled_jobs: int = 0
    cancelled_orders: int = 0
    erasure_jobs: int = 0
    held_deleted: int = 0  # posts held as likely spam, deleted (intake.held)

    def add(self, submission: Submission, cancelled_jobs: int, cancelled_order: bool) -> None:
        self.references.append(submission.reference)
        self.by_kind[submission.kind] = self.by_kind.get(submission.kind, 0) + 1
        self.cancelled_jobs += cancelled_jobs
        self.cancelled_orders += cancelled_order

    @property
    def count(self) -> int:
        return len(self.references)


def anonymise(session: Session, submission: Submission, reason: str) -> tuple[int, bool]:
    """Blank the submission's personal data and cancel what has not gone out (see the module
    docstring); the caller commits. Returns (jobs cancelled, whether a waiting order was
    cancelled): what the database changed, not what was read."""
    now = utcnow()
    session.execute(
        update(Submission)
        .where(Submission.id == submission.id)
        .values(**PERSONAL_FIELDS, anonymised_at=now)
    )
    cancel_order = (
        update(Submission)
        .where(Submission.id == submission.id, Submission.order_status.in_(WAITING_ORDER))
        .values(order_status=OrderStatus.CANCELLED, cancelled_at=now)
        .returning(Submission.id)
    )
    cancelled_order = _changed(session, cancel_order) == 1
    session.expire(submission, ["order_status", "cancelled_at"])  # as the database has them
    cancelled = _changed(
        session,
        update(DeliveryJob)
        .where(
            DeliveryJob.submission_id == submission.id,
            DeliveryJob.status.in_(UNCLAIMED),
            DeliveryJob.kind.not_in(ERASURE_KINDS),
        )
        .values(
            status=JobStatus.CANCELLED,
            outcome=CANCELLED_OUTCOME,
            finished_at=now,
            locked_until=None,
        )
        .returning(DeliveryJob.id),
    )
    session.execute(
        update(DeliveryJob)
        .where(DeliveryJob.submission_id == submission.id, DeliveryJob.last_error != "")
        .values(last_error="")
    )
    session.execute(
        update(AuditEvent)
        .where(AuditEvent.submission_id == submission.id, AuditEvent.detail != "")
        .values(detail="")
    )
    session.execute(  # why staff sent it on: it often names people
        update(Forward)
        .where(Forward.submission_id == submission.id, Forward.note != "")
        .values(note="")
    )
    detail = reason
    if cancelled:
        detail += f" {counted(cancelled, 'leverance', 'leverancer')}, der ikke var gået ud, "
        detail += "blev annulleret."
    if cancelled_order:
        detail += " Ordren var ikke sendt og blev annulleret."
    audit.record(session, ACTOR, "anonymised", submission=submission, detail=detail)
    return cancelled, cancelled_order


def _changed(session: Session, statement: ReturningUpdate[int]) -> int:
    """How many rows the UPDATE … RETURNING changed; the session's copies of only those rows
    take the new values (others may be stale, but are not written back)."""
    fetch = {"synchronize_session": "fetch"}
    return len(session.execute(statement, execution_options=fetch).all())


# -- The purge -----------------------------------------------------------------------------


@dataclass(kw_only=True)
class PurgeResult(Anonymised):
    cutoff: datetime  # submissions received before it were (or, in a dry run, would be) anonymised
    oldest_kept: Submission | None = None  # the oldest submission that still has personal data


def _older_than(cutoff: datetime) -> Select[Submission]:
    return select(Submission).where(
        Submission.created_at < cutoff, Submission.anonymised_at.is_(None)
    )


def purge(session: Session, retention_days: int, *, dry_run: bool = False) -> PurgeResult:
    """Anonymise every submission received more than `retention_days` ago, BATCH per commit
    (an interrupted purge keeps what it did; the next run does the rest). With `dry_run`,
    only count. Each run, dry runs aside, is in the audit log, also when it found nothing."""
    cutoff = utcnow() - timedelta(days=retention_days)
    result = PurgeResult(cutoff=cutoff)
    reason = f"Automatisk efter {retention_days} dage (intake purge)."
    last_id = 0
    while True:
        query = (
            _older_than(cutoff).where(Submission.id > last_id).order_by(Submission.id).limit(BATCH)
        )
        if not dry_run:
            query = query.with_for_update()
        batch = list(session.scalars(query))
        if not batch:
            break
        for submission in batch:
            if dry_run:
                result.add(submission, 0, False)
            else:
                result.add(submission, *anonymise(session, submission, reason))
        last_id = batch[-1].id
        if not dry_run:
            session.commit()
    kept = select(Submission).where(Submission.anonymised_at.is_(None))
    if dry_run:  # what the purge would keep, not what it has not yet touched
        kept = kept.where(Submission.created_at >= cutoff)
    result.oldest_kept = session.scalar(
        kept.order_by(Submission.created_at, Submission.id).limit(1)
    )
    if dry_run:
        session.rollback()
        return result
    audit.record(
        session,
        ACTOR,
        "purge",
        detail=(
            f"{counted(result.count, 'henvendelse', 'henvendelser')} modtaget før "
            f"{cutoff:%Y-%m-%d %H:%M} UTC "
            f"(mere end {retention_days} dage siden) blev anonymiseret; "
            f"{counted(result.cancelled_jobs, 'leverance', 'leverancer')} annulleret."
        ),
    )
    session.commit()
    return result


# -- Held posts ----------------------------------------------------------------------------


def delete_held(session: Session, days: int, *, dry_run: bool = False) -> int:
    """Delete the posts held as likely spam (intake.held) for more than `days` days, and
    commit; how many (with `dry_run`, only count). A deletion is in the audit log."""
    cutoff = utcnow() - timedelta(days=days)
    if dry_run:
        found = session.scalar(select(func.count()).where(HeldPost.received_at < cutoff))
        session.rollback()
        return found or 0
    deleted = rows_matched(session, delete(HeldPost).where(HeldPost.received_at < cutoff))
    if deleted:
        audit.record(
            session,
            ACTOR,
            "held_purged",
            detail=(
                f"{counted(deleted, *HELD_POSTS)} modtaget før {cutoff:%Y-%m-%d %H:%M} UTC "
                f"(mere end {days} dage siden) blev slettet (intake purge)."
            ),
        )
    session.commit()
    return deleted


# -- One person ----------------------------------------------------------------------------


def normal_address(address: str) -> str:
    """An e-mail address in one form for comparing: trimmed, the domain in IDNA, lower case
    ("Aase@Sønderå.dk" and "aase@xn--snder-qra2k.dk" are one address)."""
    address = address.strip()
    with contextlib.suppress(UnicodeError):  # a domain IDNA cannot encode stays as it is
        address = ascii_address(address)
    return address.casefold()


def address_key(address: str, secret_key: str | bytes) -> str:
    """A keyed hash of the address for the audit log, which must not hold the address itself:
    BL's IT can recompute it (with the same SECRET_KEY) to answer "was X erased?"."""
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    digest = hmac.new(key, normal_address(address).encode(), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest[:16]}"


def submissions_of(session: Session, address: str, *, lock: bool = False) -> list[Submission]:
    """Every submission (not yet anonymised) from this e-mail address, in any letter case and
    with its domain written either way, oldest first.

    The database narrows it down by the local part (ASCII: the forms refuse others), which
    SQLite's lower() can fold; the exact comparison is made here, because neither database
    folds ÆØÅ or knows IDNA."""
    wanted = normal_address(address)
    narrowed = _local_part(Submission.email, wanted)
    if narrowed is None:
        return []
    query = (
        select(Submission)
        .where(Submission.anonymised_at.is_(None), narrowed)
        .order_by(Submission.created_at, Submission.id)
    )
    if lock:
        query = query.with_for_update()
    return [s for s in session.scalars(query) if normal_address(s.email) == wanted]


def held_posts_of(session: Session, address: str) -> list[HeldPost]:
    """Every post held as likely spam from this e-mail address (found as submissions_of
    finds submissions), oldest first."""
    wanted = normal_address(address)
    narrowed = _local_part(HeldPost.email, wanted)
    if narrowed is None:
        return []
    query = select(HeldPost).where(narrowed).order_by(HeldPost.received_at, HeldPost.id)
    return [p for p in session.scalars(query) if normal_address(p.email) == wanted]


def _local_part(column: InstrumentedAttribute[str], wanted: str) -> ColumnElement[bool] | None:
    """The rows whose address has this normal address's local part (None: it has none)."""
    local = wanted.rpartition("@")[0]
    if not local:
        return None
    return func.lower(column).startswith(local + "@", autoescape=True)


def _erasure_due(session: Session, submission: Submission) -> datetime | None:
    """When to look for the submission's lead and delete it, or None: it has no Salesforce job
    and no Salesforce id, so no lead. Any upsert, in any state, may have made one (a try that
    timed out, a dead job retried with fresh attempts), and a lookup that finds nothing is
    cheap. A running upsert may still be writing the lead: the deletion waits for its lease.

    Called after anonymise(), so that it sees the upserts the UPDATE left to a worker."""
    upserts = session.execute(
        select(DeliveryJob.status, DeliveryJob.locked_until).where(
            DeliveryJob.submission_id == submission.id,
            DeliveryJob.kind == JobKind.SALESFORCE,
        )
    ).all()
    if not upserts and submission.salesforce_id is None:
        return None
    leases = [lease for status, lease in upserts if status is JobStatus.RUNNING and lease]
    return max([utcnow(), *leases])


def erase_again(session: Session, submission_id: int) -> int:
    """Queue the submission's finished lead deletion again, due now, when an upsert may have
    made the lead after the deletion looked for it; how many (none after a purge, which
    queues no deletion, or while the deletion has yet to run). The caller commits."""
    return rows_matched(
        session,
        update(DeliveryJob)
        .where(
            DeliveryJob.submission_id == submission_id,
            DeliveryJob.kind.in_(ERASURE_KINDS),
            DeliveryJob.status.in_((JobStatus.DONE, JobStatus.DEAD)),
        )
        .values(
            status=JobStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            finished_at=None,
            locked_until=None,
        ),
    )


def erase_person(session: Session, address: str, key: str) -> Anonymised:
    """Anonymise the person's submissions and queue, for each that has a Salesforce job (or
    id), a job that deletes its lead unless the lead is converted (salesforce_erasure); one
    commit, with the audit event (which names the address only by its `key`)."""
    result = Anonymised()
    submissions = submissions_of(session, address, lock=True)
    for post in held_posts_of(session, address):  # never sent on: nothing to undo elsewhere
        session.delete(post)
        result.held_deleted += 1
    reason = "Slettet efter anmodning fra personen (intake person erase)."
    for submission in submissions:
        result.add(submission, *anonymise(session, submission, reason))
        due = _erasure_due(session, submission)
        exists = session.scalar(
            select(DeliveryJob.id).where(
                DeliveryJob.submission_id == submission.id,
                DeliveryJob.kind == JobKind.SALESFORCE_ERASE,
            )
        )
        if due is not None and exists is None:
            session.add(
                DeliveryJob(
                    submission_id=submission.id,
                    kind=JobKind.SALESFORCE_ERASE,
                    target=JobTarget.LEAD,
                    next_attempt_at=due,
                )
            )
            result.erasure_jobs += 1
    audit.record(
        session,
        ACTOR,
        "person_erased",
        detail=(
            f"E-mail-nøgle {key}: {counted(result.count, 'henvendelse', 'henvendelser')} "
            f"anonymiseret ({', '.join(result.references) or 'ingen'}); "
            f"{counted(result.cancelled_jobs, 'leverance', 'leverancer')} annulleret; "
            f"{counted(result.erasure_jobs, 'sletning', 'sletninger')} i Salesforce sat i kø; "
            f"{counted(result.held_deleted, *HELD_POSTS)} slettet."
        ),
    )
    session.commit()
    return result
