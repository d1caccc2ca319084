"""initial schema: submissions, order lines, catalogue, outbox; seed the first pamphlet

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:00:00.677890
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import intake.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pamphlets = op.create_table(
        "intake_pamphlets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("max_per_order", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_pamphlets")),
        sa.UniqueConstraint("slug", name=op.f("uq_intake_pamphlets_slug")),
    )
    op.create_table(
        "intake_reference_counters",
        sa.Column("prefix", sa.String(length=4), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", name=op.f("pk_intake_reference_counters")),
    )
    op.create_table(
        "intake_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
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
        sa.Column("created_at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("organisation", sa.String(length=255), nullable=False),
        sa.Column("first_name", sa.String(length=40), nullable=False),
        sa.Column("last_name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=128), nullable=False),
        sa.Column("cvr", sa.String(length=8), nullable=False),
        sa.Column("consent_at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("municipality_code", sa.String(length=3), nullable=False),
        sa.Column("municipality_name", sa.String(length=64), nullable=False),
        sa.Column("kreds", sa.Integer(), nullable=False),
        sa.Column("consultant_key", sa.String(length=32), nullable=False),
        sa.Column("street", sa.String(length=255), nullable=False),
        sa.Column("postcode", sa.String(length=4), nullable=False),
        sa.Column("city", sa.String(length=64), nullable=False),
        sa.Column("attention", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "order_status",
            sa.Enum(
                "new",
                "packed",
                "shipped",
                "cancelled",
                name="orderstatus",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("existing_cooperation", sa.String(length=10), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("salesforce_id", sa.String(length=18), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_submissions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_intake_submissions_public_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_intake_submissions_reference")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_intake_submissions_submission_key")),
    )
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_submissions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_intake_submissions_email"), ["email"], unique=False)

    op.create_table(
        "intake_delivery_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("email", "salesforce", name="jobkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "target",
            sa.Enum(
                "pamphlet_office",
                "consultant",
                "requester",
                "lead",
                name="jobtarget",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "running", "done", "dead", name="jobstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("locked_until", intake.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", intake.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["intake_submissions.id"],
            name=op.f("fk_intake_delivery_jobs_submission_id_intake_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_delivery_jobs")),
        sa.UniqueConstraint(
            "submission_id", "kind", "target", name=op.f("uq_intake_delivery_jobs_submission_id")
        ),
    )
    with op.batch_alter_table("intake_delivery_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_intake_delivery_jobs_due", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "intake_order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("pamphlet_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pamphlet_id"],
            ["intake_pamphlets.id"],
            name=op.f("fk_intake_order_lines_pamphlet_id_intake_pamphlets"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["intake_submissions.id"],
            name=op.f("fk_intake_order_lines_submission_id_intake_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_order_lines")),
        sa.UniqueConstraint(
            "submission_id", "pamphlet_id", name=op.f("uq_intake_order_lines_submission_id")
        ),
    )
    op.bulk_insert(
        pamphlets,
        [
            {
                "slug": "kommunesamarbejde",
                "title": "Kommunesamarbejde – Hvorfor og hvordan?",
                "description": "BL's pjece om, hvorfor og hvordan boligorganisationerne og "
                "kommunen samarbejder.",
                "max_per_order": 50,
                "stock": None,
                "hidden": False,
                "position": 1,
            },
        ],
    )


def downgrade() -> None:
    op.drop_table("intake_order_lines")
    with op.batch_alter_table("intake_delivery_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_delivery_jobs_due")

    op.drop_table("intake_delivery_jobs")
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_submissions_email"))
        batch_op.drop_index(batch_op.f("ix_intake_submissions_created_at"))

    op.drop_table("intake_submissions")
    op.drop_table("intake_reference_counters")
    op.drop_table("intake_pamphlets")
