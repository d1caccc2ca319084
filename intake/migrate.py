"""Schema migrations (Alembic), run with `flask --app wsgi intake db upgrade`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from intake.paths import MIGRATIONS_DIR


class BrokenReferences(Exception):
    """A migration on SQLite left rows that refer to rows no longer there (nothing is kept)."""


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One connection and one transaction for a whole migration.

    On SQLite, with foreign keys off while the schema changes: Alembic's batch mode rebuilds a
    table (copy, drop, rename), and with foreign keys on, dropping a table other rows refer to
    fails (and SQLite cannot turn them off inside a transaction). The references are checked
    before the commit instead, so a migration that would break one changes nothing."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        tables = sorted({str(row[0]) for row in broken})
                        raise BrokenReferences(
                            f"{len(broken)} row(s) in {', '.join(tables)} would refer to rows "
                            "that are gone; the migration is rolled back"
                        )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(engine: Engine, revision: str = "head", routing_file: str | None = None) -> None:
    """Upgrade the schema; a new database's routing is seeded from `routing_file` (None: the
    shipped one)."""
    config = _config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        config.attributes["routing_file"] = routing_file
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
