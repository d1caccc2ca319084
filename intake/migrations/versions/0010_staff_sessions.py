"""staff sessions on the server, sign-in attempts, TOTP and recovery codes; no account lockout

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import intake.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ("ok", "unknown_account", "wrong_password", "wrong_code", "throttled")


def upgrade() -> None:
    with op.batch_alter_table("intake_staff_users", schema=None) as batch_op:
        # The account-wide lockout is gone: throttling is per account and address now.
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enabled_at", intake.models.UTCDateTime(), nullable=True)
        )

    op.create_table(
        "intake_staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("signed_in_at", intake.models.UTCDateTime(), nullable=True),
        sa.Column("second_factor", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=False),
        sa.Column("enrol_secret", sa.String(length=64), nullable=True),
        sa.Column("wrong_codes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["intake_staff_users.id"],
            name=op.f("fk_intake_staff_sessions_user_id_intake_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_intake_staff_sessions_token_hash")),
    )
    with op.batch_alter_table("intake_staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_staff_sessions_user_id"), ["user_id"])

    op.create_table(
        "intake_sign_in_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(*OUTCOMES, name="signinoutcome", native_enum=False, length=20),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_sign_in_attempts")),
    )
    with op.batch_alter_table("intake_sign_in_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_sign_in_attempts_at"), ["at"])
        batch_op.create_index(
            "ix_intake_sign_in_attempts_email_address", ["email", "address", "at"]
        )

    op.create_table(
        "intake_staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", intake.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["intake_staff_users.id"],
            name=op.f("fk_intake_staff_recovery_codes_user_id_intake_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_staff_recovery_codes")),
    )
    with op.batch_alter_table("intake_staff_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_staff_recovery_codes_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("intake_staff_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_staff_recovery_codes_user_id"))
    op.drop_table("intake_staff_recovery_codes")

    with op.batch_alter_table("intake_sign_in_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_sign_in_attempts_email_address")
        batch_op.drop_index(batch_op.f("ix_intake_sign_in_attempts_at"))
    op.drop_table("intake_sign_in_attempts")

    with op.batch_alter_table("intake_staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_staff_sessions_user_id"))
    op.drop_table("intake_staff_sessions")

    # Back to the password alone: the old code knows no second factor. Every account starts
    # unlocked.
    with op.batch_alter_table("intake_staff_users", schema=None) as batch_op:
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", intake.models.UTCDateTime(), nullable=True))
