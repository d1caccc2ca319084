"""Salesforce as a real org answers: when a job first failed (the CRM behind since), the
contact index, and how far each copy of Salesforce data is up to date

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import intake.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake_delivery_jobs") as batch:
        batch.add_column(sa.Column("first_failed_at", intake.models.UTCDateTime(), nullable=True))
    op.create_table(
        "intake_salesforce_contacts",
        sa.Column("contact_id", sa.String(length=18), nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_intake_salesforce_contacts")),
    )
    op.create_index(
        op.f("ix_intake_salesforce_contacts_email_key"),
        "intake_salesforce_contacts",
        ["email_key"],
    )
    op.create_table(
        "intake_salesforce_sync",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("synced_through", intake.models.UTCDateTime(), nullable=True),
        sa.Column("refreshed_at", intake.models.UTCDateTime(), nullable=True),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_intake_salesforce_sync")),
    )


def downgrade() -> None:
    op.drop_table("intake_salesforce_sync")
    op.drop_index(
        op.f("ix_intake_salesforce_contacts_email_key"), table_name="intake_salesforce_contacts"
    )
    op.drop_table("intake_salesforce_contacts")
    with op.batch_alter_table("intake_delivery_jobs") as batch:
        batch.drop_column("first_failed_at")
