"""Salesforce API usage for /metrics: requests made, and the org's daily allowance

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import intake.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_salesforce_usage",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("api_requests", sa.Integer(), nullable=False),
        sa.Column("daily_used", sa.Integer(), nullable=True),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.Column("observed_at", intake.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_salesforce_usage")),
    )


def downgrade() -> None:
    op.drop_table("intake_salesforce_usage")
