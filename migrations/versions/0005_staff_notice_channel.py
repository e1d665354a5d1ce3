"""staff.notice_channel and task.notice: task notices by the staff member's own settings

Task notices go through the same send pipeline as a lead's messages, with the staff member's
own settings instead of a lead's marketing consent: `staff.notice_channel` (unset: SMS when
they have a phone, else email). `task.notice` keeps what became of the latest notice, so a
task whose assignee could not be told shows `no_contact`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("notice_channel", sa.String(length=32), nullable=True))
    with op.batch_alter_table("task") as batch:
        batch.add_column(
            sa.Column(
                "notice",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.drop_column("notice")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("notice_channel")
