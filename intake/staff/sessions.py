"""Staff sessions kept on the server, so that the server can end them.

The browser's session cookie holds a random token; the row (intake_staff_sessions) holds its
SHA-256, never the token itself. A session is good while its row exists, it has been used in
the last `idle` and it began less than `absolute` ago. Signing out deletes the row; a new
password, a disabled account, `users sign-out-all` and a reset second factor delete all of an
account's rows: a cookie saved before then opens nothing afterwards (OWASP ASVS 3.3.1, 3.3.2,
3.3.4).

A row with no `signed_in_at` is a sign-in half done: the password was right, and the second
factor is awaited (or being enrolled) for PENDING_MINUTES at the most.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from intake.db import Database, rows_matched
from intake.models import StaffSession, StaffUser

PENDING_MINUTES = 10  # from the right password to the second factor
# last_seen_at is written at most this often: a page view need not be a database write.
# A session then ends at most this much before its idle time is up, never after.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(
            idle=timedelta(minutes=float(config["INTAKE_STAFF_IDLE_MINUTES"])),
            absolute=timedelta(hours=float(config["INTAKE_STAFF_SESSION_HOURS"])),
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session,
    user: StaffUser,
    now: datetime,
    *,
    signed_in: bool,
    second_factor: bool = False,
    address: str = "",
    user_agent: str = "",
) -> tuple[str, StaffSession]:
    """A new session (the caller commits): its token for the cookie, and its row."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        user_id=user.id,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        signed_in_at=now if signed_in else None,
        second_factor=second_factor,
        address=address[:64],
        user_agent=user_agent[:255],
        wrong_codes=0,
    )
    session.add(row)
    session.flush()
    return token, row


def _by_token(session: Session, token: object) -> StaffSession | None:
    if not isinstance(token, str) or not token:
        return None
    return session.scalar(select(StaffSession).where(StaffSession.token_hash == hash_token(token)))


def signed_in(
    session: Session, token: object, now: datetime, limits: Limits
) -> StaffSession | None:
    """The signed-in session of this token, if it has not ended or run out."""
    row = _by_token(session, token)
    if row is None or row.signed_in_at is None:
        return None
    if row.last_seen_at <= now - limits.idle or row.created_at <= now - limits.absolute:
        return None
    return row


def pending(session: Session, token: object, now: datetime) -> StaffSession | None:
    """The half-done sign-in of this token (password right, second factor awaited)."""
    row = _by_token(session, token)
    if row is None or row.signed_in_at is not None:
        return None
    if row.created_at <= now - timedelta(minutes=PENDING_MINUTES) or not row.user.active:
        return None
    return row


def touch(database: Database, row: StaffSession, now: datetime) -> None:
    """Note that the session was used now (in a transaction of its own: the request's own
    session may hold a view's unfinished changes)."""
    if row.last_seen_at > now - TOUCH_EVERY:
        return
    with database.sessionmaker() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id == row.id, StaffSession.last_seen_at < now)
            .values(last_seen_at=now)
        )
        session.commit()


def end(session: Session, token: object) -> int:
    """End the session of this token (the caller commits); 1 if there was one, else 0."""
    if not isinstance(token, str) or not token:
        return 0
    return rows_matched(
        session, delete(StaffSession).where(StaffSession.token_hash == hash_token(token))
    )


def end_all(session: Session, user: StaffUser) -> int:
    """End every session of the account, signed in or half-way (the caller commits); how many
    were signed in."""
    ended = session.scalar(
        select(func.count())
        .select_from(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.signed_in_at.is_not(None))
    )
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    return ended or 0


def _over(now: datetime, limits: Limits) -> Any:
    """The rows that can no longer be used: idle, too old, or a sign-in left half-way."""
    return or_(
        StaffSession.last_seen_at <= now - limits.idle,
        StaffSession.created_at <= now - limits.absolute,
        (StaffSession.signed_in_at.is_(None))
        & (StaffSession.created_at <= now - timedelta(minutes=PENDING_MINUTES)),
    )


def active(session: Session, user: StaffUser, now: datetime, limits: Limits) -> list[StaffSession]:
    """The account's signed-in sessions that are still good, the most recently used first."""
    return list(
        session.scalars(
            select(StaffSession)
            .where(
                StaffSession.user_id == user.id,
                StaffSession.signed_in_at.is_not(None),
                ~_over(now, limits),
            )
            .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
        )
    )


def delete_expired(
    session: Session, now: datetime, limits: Limits, user: StaffUser | None = None
) -> int:
    """Delete the rows that can no longer be used (of one account, or all); how many."""
    statement = delete(StaffSession).where(_over(now, limits))
    if user is not None:
        statement = statement.where(StaffSession.user_id == user.id)
    return rows_matched(session, statement)
