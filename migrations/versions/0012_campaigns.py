"""campaign, campaign_member: campaigns sent to an audience in batches

A campaign is marketing's one-off or seasonal send (a festival, a new collection): its
audience filters, the channels its leads must have marketing consent on, its sequence, and
the CampaignWorkflow's progress. A member row per lead it reached names the journey it
started (or why it did not), so a cancel can end exactly the campaign's journeys.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sequence_key", sa.String(length=100), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=True),
        sa.Column("audience", _JSON, nullable=False),
        sa.Column("channels", _JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("batches_done", sa.Integer(), nullable=False),
        sa.Column("journeys_ended", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_campaign_store_id_store")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_index(op.f("ix_campaign_store_id"), "campaign", ["store_id"], unique=False)
    op.create_table(
        "campaign_member",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_campaign_member_campaign_id_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_campaign_member_lead_id_lead")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_member")),
        sa.UniqueConstraint(
            "campaign_id", "lead_id", name=op.f("uq_campaign_member_campaign_id_lead_id")
        ),
    )
    op.create_index(
        op.f("ix_campaign_member_campaign_id"), "campaign_member", ["campaign_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_campaign_member_campaign_id"), table_name="campaign_member")
    op.drop_table("campaign_member")
    op.drop_index(op.f("ix_campaign_store_id"), table_name="campaign")
    op.drop_table("campaign")
