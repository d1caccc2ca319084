"""Alembic environment: run by intake.migrate with a live connection in config.attributes."""

from alembic import context

from intake.models import Base

VERSION_TABLE = "intake_alembic_version"  # apart from a host site's own alembic_version

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
