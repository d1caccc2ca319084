"""held posts (likely spam, waiting for staff), a shipped order's parcel number, no consent

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import intake.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_held_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "pamphlet_order",
                "startup_help",
                name="submissionkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("received_at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("form_data", sa.JSON(), nullable=False),
        sa.Column("trap", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_held_posts")),
        sa.UniqueConstraint("public_id", name=op.f("uq_intake_held_posts_public_id")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_intake_held_posts_submission_key")),
    )
    with op.batch_alter_table("intake_held_posts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_held_posts_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_intake_held_posts_email"), ["email"], unique=False)

    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.alter_column(
            "consent_at", existing_type=intake.models.UTCDateTime(), nullable=True
        )
        batch_op.add_column(
            sa.Column("parcel_number", sa.String(length=40), nullable=False, server_default="")
        )


def downgrade() -> None:
    # Leave nothing the older code cannot read, and lose nothing a person sent.
    bind = op.get_bind()
    held = bind.scalar(sa.text("SELECT count(*) FROM intake_held_posts"))
    if held:
        raise RuntimeError(
            f"{held} held post(s) are waiting at /admin/held/: release or delete them before "
            "downgrading (the older version has nowhere to keep them)."
        )
    unsent = bind.scalar(
        sa.text(
            "SELECT count(*) FROM intake_delivery_jobs "
            "WHERE target = 'cancelled' AND status IN ('pending', 'running')"
        )
    )
    if unsent:
        raise RuntimeError(
            f"{unsent} cancellation e-mail(s) have not gone out; let the worker send them before "
            "downgrading (the older version cannot write them)."
        )
    op.execute("DELETE FROM intake_delivery_jobs WHERE target = 'cancelled'")
    # The older version keeps a parcel number in the shipping note.
    op.execute(
        "UPDATE intake_submissions SET status_note = CASE WHEN status_note = '' "
        "THEN 'Pakkenummer ' || parcel_number "
        "ELSE status_note || ' (pakkenummer ' || parcel_number || ')' END "
        "WHERE parcel_number != ''"
    )
    op.execute("UPDATE intake_submissions SET consent_at = created_at WHERE consent_at IS NULL")
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.drop_column("parcel_number")
        batch_op.alter_column(
            "consent_at", existing_type=intake.models.UTCDateTime(), nullable=False
        )

    with op.batch_alter_table("intake_held_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_held_posts_email"))
        batch_op.drop_index(batch_op.f("ix_intake_held_posts_received_at"))
    op.drop_table("intake_held_posts")
