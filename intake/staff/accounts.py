"""Staff accounts: creating them, and checking a sign-in with lockout after repeated failures."""

from __future__ import annotations

import enum
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from intake.models import StaffRole, StaffUser, utcnow
from intake.text import normalise_email

MIN_PASSWORD_LENGTH = 12
# Checked against when the e-mail is unknown, so both cases take as long (no account probing).
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


class SignIn(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown e-mail or wrong password: the same answer for both
    LOCKED = "locked"


def find(session: Session, email: str) -> StaffUser | None:
    return session.scalar(
        select(StaffUser).where(func.lower(StaffUser.email) == normalise_email(email))
    )


def create(session: Session, email: str, password: str, role: StaffRole) -> StaffUser:
    """Add a staff user (the caller commits). Raises ValueError with a message for people."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if find(session, email) is not None:
        raise ValueError(f"{email} already has an account.")
    user = StaffUser(
        email=normalise_email(email),
        password_hash=generate_password_hash(password, method="scrypt"),
        role=role,
    )
    session.add(user)
    return user


def sign_in(
    session: Session, email: str, password: str, *, max_failures: int, lock_minutes: float
) -> tuple[SignIn, StaffUser | None]:
    """Check a sign-in and record its outcome on the account (the caller commits).

    After `max_failures` wrong passwords in a row the account is locked for `lock_minutes`;
    while locked, even the right password is refused.
    """
    user = find(session, email)
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return SignIn.WRONG, None
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return SignIn.LOCKED, user
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            return SignIn.LOCKED, user
        return SignIn.WRONG, user
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return SignIn.OK, user
