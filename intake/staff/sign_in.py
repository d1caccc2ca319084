"""Checking a sign-in: the password, then (when the account has one) the second factor.

Every password check costs the same, whatever its outcome: the account is looked up, the
throttle counted, one scrypt hash computed (against a dummy hash when there is no account) and
one attempt written. An unknown e-mail, a wrong password and a throttled account then get the
same answer in the same time; only the right password, unthrottled, gets in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from intake.models import SignInOutcome, StaffSession, StaffUser
from intake.staff import accounts, attempts, recovery_codes, totp
from intake.staff.attempts import Throttle


@dataclass(frozen=True)
class CodeCheck:
    outcome: SignInOutcome  # OK, WRONG_CODE or THROTTLED
    recovery_code_used: bool = False


def check_password(
    session: Session, email: str, password: str, address: str, now: datetime, throttle: Throttle
) -> tuple[SignInOutcome, StaffUser | None]:
    """The outcome, and the account when it is OK (the caller commits the attempt)."""
    user = accounts.find(session, email)
    usable = user if user is not None and user.active else None
    held_back = attempts.throttled(session, email, address, now, throttle)
    right = accounts.password_matches(usable, password)  # always: the same work every time
    if held_back:
        outcome = SignInOutcome.THROTTLED
    elif usable is None:
        outcome = SignInOutcome.UNKNOWN_ACCOUNT
    elif not right:
        outcome = SignInOutcome.WRONG_PASSWORD
    else:
        outcome = SignInOutcome.OK
    attempts.record(session, email, address, outcome, now)
    return outcome, usable if outcome is SignInOutcome.OK else None


def check_code(
    session: Session,
    pending: StaffSession,
    code: str,
    address: str,
    now: datetime,
    throttle: Throttle,
) -> CodeCheck:
    """A code from the authenticator app, or a recovery code, for a half-done sign-in (the
    caller commits)."""

    def accepted(user: StaffUser) -> CodeCheck | None:
        if totp.use_code(session, user, code, now):
            return CodeCheck(SignInOutcome.OK)
        if recovery_codes.use(session, user, code, now):
            return CodeCheck(SignInOutcome.OK, recovery_code_used=True)
        return None

    return _second_step(session, pending, address, now, throttle, accepted)


def check_enrolment(
    session: Session,
    pending: StaffSession,
    code: str,
    address: str,
    now: datetime,
    throttle: Throttle,
) -> CodeCheck:
    """The first code of the authenticator being enrolled (the secret the page showed); right,
    the account uses it from now on (the caller commits)."""

    def accepted(user: StaffUser) -> CodeCheck | None:
        secret = pending.enrol_secret
        if secret is not None and totp.enable(user, secret, code, now):
            return CodeCheck(SignInOutcome.OK)
        return None

    return _second_step(session, pending, address, now, throttle, accepted)


def _second_step(
    session: Session,
    pending: StaffSession,
    address: str,
    now: datetime,
    throttle: Throttle,
    accepted: Callable[[StaffUser], CodeCheck | None],
) -> CodeCheck:
    """A wrong code counts against the account from this address, as a wrong password does,
    and on the half-done sign-in itself (the page starts the sign-in again after too many)."""
    user = pending.user
    if attempts.throttled(session, user.email, address, now, throttle):
        check = CodeCheck(SignInOutcome.THROTTLED)
    else:
        check = accepted(user) or CodeCheck(SignInOutcome.WRONG_CODE)
    if check.outcome is SignInOutcome.WRONG_CODE:
        pending.wrong_codes += 1
    attempts.record(session, user.email, address, check.outcome, now)
    return check
