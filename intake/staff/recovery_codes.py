"""One-time recovery codes: they stand in for the authenticator app when the phone is lost.

Ten codes are made when the app is enrolled (and anew on the account page); they are shown
once and kept only as SHA-256 hashes. Each has 60 random bits, so a hash cannot be turned back
into its code by trying them all. A code is used once, with a conditional UPDATE.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from intake.db import rows_matched
from intake.models import RecoveryCode, StaffUser

COUNT = 10
# Lower-case letters and digits that cannot be mistaken for each other (no 0/o, 1/l/i).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_LENGTH = 12  # 31 ** 12: about 2 ** 59


def _normal(code: str) -> str:
    """As typed, with or without the dashes, in any case."""
    return "".join(code.split()).replace("-", "").lower()


def _hash(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def looks_like_code(text: str) -> bool:
    normal = _normal(text)
    return len(normal) == _LENGTH and all(c in _ALPHABET for c in normal)


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _LENGTH, 4))


def replace(session: Session, user: StaffUser) -> list[str]:
    """New codes for the account, the old ones void (the caller commits); shown once."""
    delete_all(session, user)
    codes = [_new_code() for _ in range(COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    return codes


def use(session: Session, user: StaffUser, code: str, now: datetime) -> bool:
    """Whether `code` is one of the account's unused codes; it is then used."""
    if not looks_like_code(code):
        return False
    statement = (
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return rows_matched(session, statement) > 0


def left(session: Session, user: StaffUser) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def delete_all(session: Session, user: StaffUser) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
