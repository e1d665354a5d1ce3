"""Indexes for a lead's timeline read a page at a time

`GET /v1/leads/{id}/timeline` pages by (time, id) past a cursor. Events get (lead_id,
occurred_at, id) in place of (lead_id, occurred_at), so a page seeks to its cursor and reads
in order with no sort; touches get the same on the moment a message shows on the timeline,
coalesce(sent_at, created_at) (an expression index, on SQLite and PostgreSQL alike).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_lead_timeline", "event", ["lead_id", "occurred_at", "id"])
    op.drop_index("ix_event_lead_occurred", table_name="event")
    op.create_index(
        "ix_touch_lead_timeline",
        "touch",
        ["lead_id", sa.text("coalesce(sent_at, created_at)"), "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_touch_lead_timeline", table_name="touch")
    op.create_index("ix_event_lead_occurred", "event", ["lead_id", "occurred_at"])
    op.drop_index("ix_event_lead_timeline", table_name="event")
