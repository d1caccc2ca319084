"""the due-jobs index leads with the job kind, as the worker claims one kind at a time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake_delivery_jobs") as batch_op:
        batch_op.drop_index("ix_intake_delivery_jobs_due")
        batch_op.create_index(
            "ix_intake_delivery_jobs_due", ["kind", "status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("intake_delivery_jobs") as batch_op:
        batch_op.drop_index("ix_intake_delivery_jobs_due")
        batch_op.create_index(
            "ix_intake_delivery_jobs_due", ["status", "next_attempt_at"], unique=False
        )
