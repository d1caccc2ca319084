"""personal data: when a submission was anonymised, and a delivery job's outcome

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import intake.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anonymised_at", intake.models.UTCDateTime(), nullable=True))

    with op.batch_alter_table("intake_delivery_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("intake_delivery_jobs", schema=None) as batch_op:
        batch_op.drop_column("outcome")

    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.drop_column("anonymised_at")
