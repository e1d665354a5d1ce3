"""touch.store_id and touch.sequence_key; indexes the dashboard reads instead of tables

A message's branch was its lead's and its sequence its journey's: counting a branch's
month of messages joined every message to its lead (and, split by sequence, to its
journey), about half a million lookups a panel at 100,000 leads. Both are now copied onto
the message when it is written (neither ever changes: merged leads share a branch) and
backfilled here. The message, lead-cohort and task indexes lead with the branch and carry
every column their metrics count by, so a panel reads one index range and no wide rows;
a lead's first message, first answered task, journeys and engagement are one seek each.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOUCH = ["staff_id", "channel", "status", "reason", "step_id", "sequence_key"]
_TASK = ["assignee_id", "kind", "status", "role_needed", "sla_due_at", "acknowledged_at"]
_COHORT = ["store_id", "created_at", "id", "source", "segment", "stage", "owner_id"]
INDEXES = [
    ("ix_touch_store_sent", "touch", ["store_id", "sent_at", *_TOUCH]),
    (
        "ix_touch_store_status_created",
        "touch",
        ["store_id", "status", "created_at", *[c for c in _TOUCH if c != "status"]],
    ),
    ("ix_touch_lead_sent", "touch", ["lead_id", "staff_id", "sent_at"]),
    ("ix_lead_store_created", "lead", _COHORT),
    ("ix_event_lead_engaged", "event", ["lead_id", "occurred_at", "kind"]),
    (
        "ix_enrollment_started",
        "enrollment",
        ["started_at", "lead_id", "sequence_key", "status", "outcome"],
    ),
    ("ix_enrollment_lead_status", "enrollment", ["lead_id", "status", "started_at"]),
    ("ix_task_store_created", "task", ["store_id", "created_at", *_TASK, "completed_at"]),
    (
        "ix_task_store_status",
        "task",
        ["store_id", "status", "created_at", *[c for c in _TASK if c != "status"]],
    ),
    ("ix_task_lead_answered", "task", ["lead_id", "acknowledged_at", "completed_at"]),
]
# 0014's indexes these replace (the message ones needed the lead for the branch)
REPLACED = [
    ("ix_touch_sent", "touch", ["sent_at", "lead_id", "staff_id", "status", "channel"]),
    ("ix_touch_created", "touch", ["created_at", "lead_id", "staff_id", "status", "reason"]),
    ("ix_lead_store_created", "lead", ["store_id", "created_at"]),
    ("ix_event_lead_kind", "event", ["lead_id", "kind", "occurred_at"]),
    ("ix_task_store_created", "task", ["store_id", "created_at"]),
]


def _timeline_index() -> None:
    # 0007's expression index: SQLite's batch copy of the table cannot carry it across
    op.create_index(
        "ix_touch_lead_timeline",
        "touch",
        ["lead_id", sa.text("coalesce(sent_at, created_at)"), "id"],
    )


def upgrade() -> None:
    op.add_column("touch", sa.Column("store_id", sa.Uuid(), nullable=True))
    op.add_column("touch", sa.Column("sequence_key", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE touch SET"
        " store_id = (SELECT lead.store_id FROM lead WHERE lead.id = touch.lead_id),"
        " sequence_key = (SELECT enrollment.sequence_key FROM enrollment"
        " WHERE enrollment.id = touch.enrollment_id)"
    )
    for name, table, _ in REPLACED:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_touch_lead_timeline", table_name="touch")
    with op.batch_alter_table("touch") as batch:
        batch.alter_column("store_id", existing_type=sa.Uuid(), nullable=False)
        batch.create_foreign_key(op.f("fk_touch_store_id_store"), "store", ["store_id"], ["id"])
    _timeline_index()
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_touch_lead_timeline", table_name="touch")
    with op.batch_alter_table("touch") as batch:
        batch.drop_constraint(op.f("fk_touch_store_id_store"), type_="foreignkey")
        batch.drop_column("sequence_key")
        batch.drop_column("store_id")
    _timeline_index()
    for name, table, columns in REPLACED:
        op.create_index(name, table, columns)
