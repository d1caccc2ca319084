"""Sign-in attempts: what throttles one account from one address, and what the account's owner
sees of failed tries.

Throttling is keyed by the account *and* the address together: `max_failures` failed tries for
an e-mail from one address within `window` refuse further tries for that e-mail from that
address until the oldest of them is `window` old. A storm of wrong passwords from one address
therefore never stops the real person signing in from another (OWASP ASVS 2.2.1 without the
lockout that lets anyone lock anyone out). Tries on unknown e-mails count the same way, so a
throttled answer tells nothing about which e-mails are accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from intake.db import rows_matched
from intake.models import SignInAttempt, SignInOutcome
from intake.text import normalise_email

FAILED = (SignInOutcome.UNKNOWN_ACCOUNT, SignInOutcome.WRONG_PASSWORD, SignInOutcome.WRONG_CODE)
# What the owner of an account is shown: tries on their e-mail that did not get in.
SHOWN_TO_OWNER = (SignInOutcome.WRONG_PASSWORD, SignInOutcome.WRONG_CODE, SignInOutcome.THROTTLED)
KEPT_DAYS = 90  # `intake purge` deletes older attempts
SHOWN_DAYS = 30  # the account page lists this far back


@dataclass(frozen=True)
class Throttle:
    max_failures: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Throttle:
        return cls(
            max_failures=int(config["INTAKE_LOGIN_MAX_FAILURES"]),
            window=timedelta(minutes=float(config["INTAKE_LOGIN_LOCK_MINUTES"])),
        )


def record(
    session: Session, email: str, address: str, outcome: SignInOutcome, now: datetime
) -> SignInAttempt:
    """Add an attempt (the caller commits)."""
    attempt = SignInAttempt(
        at=now, email=normalise_email(email)[:254], address=address[:64], outcome=outcome
    )
    session.add(attempt)
    return attempt


def throttled(
    session: Session, email: str, address: str, now: datetime, throttle: Throttle
) -> bool:
    """Whether this e-mail may not be tried from this address now."""
    failures = session.scalar(
        select(func.count())
        .select_from(SignInAttempt)
        .where(
            SignInAttempt.email == normalise_email(email)[:254],
            SignInAttempt.address == address[:64],
            SignInAttempt.at > now - throttle.window,
            SignInAttempt.outcome.in_(FAILED),
        )
    )
    return (failures or 0) >= throttle.max_failures


def failed(session: Session, email: str, since: datetime | None) -> list[SignInAttempt]:
    """The tries on this account's e-mail that did not get in, since `since`, newest first."""
    query = select(SignInAttempt).where(
        SignInAttempt.email == normalise_email(email), SignInAttempt.outcome.in_(SHOWN_TO_OWNER)
    )
    if since is not None:
        query = query.where(SignInAttempt.at > since)
    return list(session.scalars(query.order_by(SignInAttempt.at.desc(), SignInAttempt.id.desc())))


def delete_older_than(session: Session, cutoff: datetime) -> int:
    return rows_matched(session, delete(SignInAttempt).where(SignInAttempt.at < cutoff))
