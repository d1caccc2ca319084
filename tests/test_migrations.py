"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from intake import migrate
from intake.models import Base


def test_the_migrated_schema_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": "intake_alembic_version", "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_downgrade_to_nothing_and_up_again(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/m.sqlite3")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert inspect(engine).get_table_names() == ["intake_alembic_version"]
    migrate.upgrade(engine)
    assert "intake_submissions" in inspect(engine).get_table_names()
    engine.dispose()
