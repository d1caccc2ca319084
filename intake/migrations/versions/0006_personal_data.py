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
    # Leave no row the older code cannot read: it knows neither erasure jobs nor `cancelled`.
    unfinished = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM intake_delivery_jobs "
            "WHERE kind = 'salesforce_erase' AND status IN ('pending', 'running', 'dead')"
        )
    )
    if unfinished:
        raise RuntimeError(
            f"{unfinished} Salesforce erasure job(s) are not done; let the worker finish them "
            "(or retry the dead ones) before downgrading, or the leads they delete stay."
        )
    op.execute("DELETE FROM intake_delivery_jobs WHERE kind = 'salesforce_erase'")
    op.execute(
        "UPDATE intake_delivery_jobs SET status = 'dead', last_error = outcome "
        "WHERE status = 'cancelled'"
    )
    with op.batch_alter_table("intake_delivery_jobs", schema=None) as batch_op:
        batch_op.drop_column("outcome")

    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.drop_column("anonymised_at")
