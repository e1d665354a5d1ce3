"""The instants the slow dashboard panels measure a lead by, kept on its row

Speed to lead, time to purchase and going cold looked, for every lead of a panel's cohort
(going cold: every open lead of the branch), twice a panel, into its messages, tasks,
purchases, events or journeys: a seek per lead each. The lead row now keeps, over its whole
history (db/instants.py keeps them as rows are written): first_message_at, first_contact_at,
first_purchase_at, last_engaged_at and in_journey_since. They are counted here from the rows
already written, and the cohort index carries them, so a panel reads that index alone.

The engagement kinds are written out as they stand today (qualification.scoring
ENGAGEMENT_KINDS): a migration replays the same way whatever the code says later.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANTS = (
    "first_message_at",
    "first_contact_at",
    "first_purchase_at",
    "last_engaged_at",
    "in_journey_since",
)
ENGAGEMENT_KINDS = (
    "appointment_booked",
    "appointment_requested",
    "captured",
    "category_view",
    "email_clicked",
    "email_opened",
    "enquiry",
    "product_view",
    "question",
    "reply",
    "store_visit",
    "technical_question",
)
COHORT = ["store_id", "created_at", "id", "source", "segment", "stage", "owner_id"]

BACKFILL = f"""
UPDATE lead SET
    first_message_at = (
        SELECT min(touch.sent_at) FROM touch
        WHERE touch.lead_id = lead.id AND touch.staff_id IS NULL
    ),
    first_contact_at = (
        SELECT min(coalesce(task.acknowledged_at, task.completed_at)) FROM task
        WHERE task.lead_id = lead.id
    ),
    first_purchase_at = (
        SELECT min(purchase.purchased_at) FROM purchase WHERE purchase.lead_id = lead.id
    ),
    last_engaged_at = (
        SELECT max(event.occurred_at) FROM event
        WHERE event.lead_id = lead.id
        AND event.kind IN ({", ".join(f"'{kind}'" for kind in ENGAGEMENT_KINDS)})
    ),
    in_journey_since = (
        SELECT min(enrollment.started_at) FROM enrollment
        WHERE enrollment.lead_id = lead.id AND enrollment.status = 'active'
    )
"""


def upgrade() -> None:
    for name in INSTANTS:
        op.add_column("lead", sa.Column(name, db.types.UTCDateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)  # before the index, which would otherwise be rewritten row by row
    op.drop_index("ix_lead_store_created", table_name="lead")
    op.create_index("ix_lead_store_created", "lead", [*COHORT, *INSTANTS])


def downgrade() -> None:
    op.drop_index("ix_lead_store_created", table_name="lead")
    op.create_index("ix_lead_store_created", "lead", COHORT)
    for name in reversed(INSTANTS):
        op.execute(f"ALTER TABLE lead DROP COLUMN {name}")
