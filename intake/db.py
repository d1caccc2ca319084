"""The database engine of one app, the request-scoped session views use, and the row count
of an UPDATE or DELETE (rows_matched)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, g
from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


@dataclass
class Database:
    engine: Engine
    sessionmaker: sessionmaker[Session]

    @classmethod
    def connect(cls, url: str) -> Database:
        # hide_parameters: a database error's text (logged by /healthz and the 503 page)
        # would otherwise quote the row's values: names and e-mail addresses.
        engine = create_engine(url, hide_parameters=True, **_engine_options(url))
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _tune_sqlite)
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    def dispose(self) -> None:
        self.engine.dispose()


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # pre_ping: a PostgreSQL restart leaves dead pooled connections; test them before use.
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the web process read while the worker writes; foreign keys are off by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def rows_matched(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE without RETURNING; how many rows it matched (`rowcount`).

    Session.execute is typed to return a plain Result, since a session cannot promise a
    cursor for every statement; for these it always returns a CursorResult, which has one.
    """
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no rowcount: use RETURNING and count rows")
    return result.rowcount


def get_session() -> Session:
    """The session of the current request (or app context), opened on first use."""
    if "intake_session" not in g:
        g.intake_session = current_app.extensions["intake"].database.sessionmaker()
    session: Session = g.intake_session
    return session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("intake_session", None)
    if session is None:
        return
    try:
        session.close()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        # The database went away after the answer was made (a restart): the server has
        # already dropped what the closing rollback would undo. The answer stands; a 500
        # from gunicorn instead of it would be wrong.
        current_app.logger.warning(
            "Database connection lost while closing a session (%s)", type(error.orig).__name__
        )
