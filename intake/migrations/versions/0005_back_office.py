"""back office: staff users, the audit log, and an order's packed/shipped/cancelled times

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:43:52.248651
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import intake.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum("office", "admin", name="staffrole", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", intake.models.UTCDateTime(), nullable=True),
        sa.Column("last_login_at", intake.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", intake.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_staff_users")),
        sa.UniqueConstraint("email", name=op.f("uq_intake_staff_users_email")),
    )
    op.create_table(
        "intake_audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["intake_submissions.id"],
            name=op.f("fk_intake_audit_events_submission_id_intake_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_audit_events")),
    )
    with op.batch_alter_table("intake_audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_intake_audit_events_submission_id"), ["submission_id"], unique=False
        )

    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("packed_at", intake.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("shipped_at", intake.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", intake.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("status_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.drop_column("status_note")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("shipped_at")
        batch_op.drop_column("packed_at")

    with op.batch_alter_table("intake_audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_audit_events_submission_id"))
        batch_op.drop_index(batch_op.f("ix_intake_audit_events_at"))

    op.drop_table("intake_audit_events")
    op.drop_table("intake_staff_users")
