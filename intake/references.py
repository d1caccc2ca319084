"""Human reference numbers, e.g. PJ-2026-00042: a counter per prefix and year."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from intake.models import ReferenceCounter


def next_reference(session: Session, prefix: str, year: int) -> str:
    """Take the next number in the caller's transaction.

    The UPDATE locks the counter row until the caller commits, so two submissions never
    get the same number; a rolled-back submission gives its number back.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(ReferenceCounter)
        .values(prefix=prefix, year=year, last_value=0)
        .on_conflict_do_nothing(index_elements=["prefix", "year"])
    )
    number = session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    ).scalar_one()
    return f"{prefix}-{year}-{number:05d}"
