"""the language a requester used (Danish or English): their e-mails go out in it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every request before this one was made on the Danish forms.
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=2), nullable=False, server_default="da")
        )


def downgrade() -> None:
    with op.batch_alter_table("intake_submissions", schema=None) as batch_op:
        batch_op.drop_column("language")
