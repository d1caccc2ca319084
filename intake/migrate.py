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


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
