"""Staff accounts: creating them, their passwords, and switching them off and on."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from intake.models import StaffRole, StaffUser
from intake.text import normalise_email

MIN_PASSWORD_LENGTH = 12
# Checked against when there is no account to check, so that every sign-in costs one password
# hash, whatever the e-mail: the time of an answer tells nothing about which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def find(session: Session, email: str) -> StaffUser | None:
    return session.scalar(
        select(StaffUser).where(func.lower(StaffUser.email) == normalise_email(email))
    )


def every(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if "\x00" in password:  # forms/sign_in.py refuses it too: scrypt pads with zero bytes
        raise ValueError("The password must not contain a NUL character.")
    return generate_password_hash(password, method="scrypt")


def create(session: Session, email: str, password: str, role: StaffRole) -> StaffUser:
    """Add a staff user (the caller commits). Raises ValueError with a message for people."""
    if find(session, email) is not None:
        raise ValueError(f"{email} already has an account.")
    user = StaffUser(email=normalise_email(email), password_hash=_hash(password), role=role)
    session.add(user)
    return user


def set_password(user: StaffUser, password: str) -> None:
    """A new password (the caller ends the account's sessions and commits)."""
    user.password_hash = _hash(password)


def password_matches(user: StaffUser | None, password: str) -> bool:
    """Whether `password` is the account's; with no account, False after the same work."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)
