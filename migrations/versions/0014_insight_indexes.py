"""Indexes for the insight metrics: periods of leads, messages, events, sales and tasks

The dashboards and questions count rows in a period per branch: leads by (store_id,
created_at), sales by (store_id, purchased_at), tasks by (store_id, created_at), events by
(store_id, kind, occurred_at); messages by sent_at and created_at (with lead_id, to reach the
branch); and "did this lead ever reply / book / visit" by (lead_id, kind, occurred_at).
The message indexes carry the columns the message metrics count by, and (id, store_id)
names a lead's branch, so counting a period's messages reads indexes only, not the wide
message and lead rows.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 15:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_lead_store_created", "lead", ["store_id", "created_at"]),
    ("ix_lead_id_store", "lead", ["id", "store_id"]),
    ("ix_touch_sent", "touch", ["sent_at", "lead_id", "staff_id", "status", "channel"]),
    ("ix_touch_created", "touch", ["created_at", "lead_id", "staff_id", "status", "reason"]),
    ("ix_event_store_kind", "event", ["store_id", "kind", "occurred_at"]),
    ("ix_event_lead_kind", "event", ["lead_id", "kind", "occurred_at"]),
    ("ix_purchase_store_purchased", "purchase", ["store_id", "purchased_at"]),
    ("ix_task_store_created", "task", ["store_id", "created_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
