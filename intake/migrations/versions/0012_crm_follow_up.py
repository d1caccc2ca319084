"""the follow-up read back from Salesforce on each submission, the pull's lease, and municipal
cooperations recorded by hand

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import intake.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crm_lead_status", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("crm_converted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("crm_task_status", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("crm_modified_at", intake.models.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("intake_salesforce_sync", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leased_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("leased_until", intake.models.UTCDateTime(), nullable=True))
    op.create_table(
        "intake_municipal_cooperations",
        sa.Column("municipality_code", sa.String(length=3), nullable=False),
        sa.Column("established_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=254), nullable=False),
        sa.Column("recorded_at", intake.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("municipality_code", name=op.f("pk_intake_municipal_cooperations")),
    )


def downgrade() -> None:
    op.drop_table("intake_municipal_cooperations")
    with op.batch_alter_table("intake_salesforce_sync", schema=None) as batch_op:
        batch_op.drop_column("leased_until")
        batch_op.drop_column("leased_by")
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.drop_column("crm_modified_at")
        batch_op.drop_column("crm_task_status")
        batch_op.drop_column("crm_converted")
        batch_op.drop_column("crm_lead_status")
