"""submissions remember the Salesforce record that follows them up (Lead or Contact) and its URL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake_submissions") as batch_op:
        batch_op.add_column(sa.Column("salesforce_object", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("salesforce_url", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intake_submissions") as batch_op:
        batch_op.drop_column("salesforce_url")
        batch_op.drop_column("salesforce_object")
