"""the routing in the database (seeded from the routing file); requests sent on to another
consultant

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

import intake.models
from intake.routing import store
from intake.routing.checker import load_routing

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_routing_office",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_routing_office")),
    )
    op.create_table(
        "intake_routing_consultants",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("salesforce_user_id", sa.String(length=18), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_intake_routing_consultants")),
    )
    op.create_table(
        "intake_routing_kredse",
        sa.Column("kreds", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("consultant_key", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultant_key"],
            ["intake_routing_consultants.key"],
            name=op.f("fk_intake_routing_kredse_consultant_key_intake_routing_consultants"),
        ),
        sa.PrimaryKeyConstraint("kreds", name=op.f("pk_intake_routing_kredse")),
    )
    with op.batch_alter_table("intake_routing_kredse", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_routing_kredse_consultant_key"), ["consultant_key"]
        )
    op.create_table(
        "intake_routing_municipalities",
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kreds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_intake_routing_municipalities")),
    )
    op.create_table(
        "intake_routing_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", intake.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_routing_version")),
    )
    op.create_table(
        "intake_forwards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("from_consultant_key", sa.String(length=32), nullable=False),
        sa.Column("to_consultant_key", sa.String(length=32), nullable=False),
        sa.Column("by", sa.String(length=254), nullable=False),
        sa.Column("at", intake.models.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["intake_submissions.id"],
            name=op.f("fk_intake_forwards_submission_id_intake_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_forwards")),
        sa.UniqueConstraint(
            "submission_id", "number", name=op.f("uq_intake_forwards_submission_id")
        ),
    )
    with op.batch_alter_table("intake_forwards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_forwards_submission_id"), ["submission_id"])

    # A submission's jobs now include those of each time it is sent on.
    with op.batch_alter_table("intake_delivery_jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("forward_number", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.drop_constraint("uq_intake_delivery_jobs_submission_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_intake_delivery_jobs_submission_forward",
            ["submission_id", "kind", "target", "forward_number"],
        )

    # The routing file seeds the routing: the one `intake db upgrade` was given
    # (INTAKE_ROUTING_FILE), else the shipped one.
    routing = load_routing(context.config.attributes.get("routing_file"))
    store.write(op.get_bind(), routing)


def downgrade() -> None:
    # The jobs of requests sent on have no place in the old schema.
    op.execute("DELETE FROM intake_delivery_jobs WHERE forward_number <> 0")
    with op.batch_alter_table("intake_delivery_jobs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_intake_delivery_jobs_submission_forward", type_="unique")
        batch_op.create_unique_constraint(
            "uq_intake_delivery_jobs_submission_id", ["submission_id", "kind", "target"]
        )
        batch_op.drop_column("forward_number")
    with op.batch_alter_table("intake_forwards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_forwards_submission_id"))
    op.drop_table("intake_forwards")
    op.drop_table("intake_routing_version")
    op.drop_table("intake_routing_municipalities")
    with op.batch_alter_table("intake_routing_kredse", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_routing_kredse_consultant_key"))
    op.drop_table("intake_routing_kredse")
    op.drop_table("intake_routing_consultants")
    op.drop_table("intake_routing_office")
