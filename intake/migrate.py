"""Schema migrations (Alembic), run with `flask --app wsgi intake db upgrade`."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from intake.paths import MIGRATIONS_DIR


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head", routing_file: str | None = None) -> None:
    """Upgrade the schema; a new database's routing is seeded from `routing_file` (None: the
    shipped one)."""
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["routing_file"] = routing_file
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
