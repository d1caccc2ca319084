"""Human reference numbers, e.g. PJ-2026-00042: a counter per prefix and year."""

from __future__ import annotations

import functools

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from intake.models import Base, ReferenceCounter

_COUNTERS = Base.metadata.tables[ReferenceCounter.__tablename__]


@functools.cache
def _numbering(dialect: str) -> ReturningInsert[int]:
    """INSERT … ON CONFLICT DO UPDATE … RETURNING: the next number in one statement (both
    PostgreSQL and SQLite speak it), made once per dialect: every submission runs it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_COUNTERS).values(
        prefix=bindparam("prefix"), year=bindparam("year"), last_value=1
    )
    return statement.on_conflict_do_update(
        index_elements=["prefix", "year"],
        set_={"last_value": _COUNTERS.c.last_value + 1},
    ).returning(_COUNTERS.c.last_value)


def next_reference(session: Session, prefix: str, year: int) -> str:
    """Take the next number in the caller's transaction.

    The statement locks the counter row until the caller commits, so two submissions never
    get the same number; a rolled-back submission gives its number back.
    """
    connection = session.connection()
    statement = _numbering(connection.dialect.name)
    number = connection.execute(statement, {"prefix": prefix, "year": year}).scalar_one()
    return f"{prefix}-{year}-{number:05d}"
