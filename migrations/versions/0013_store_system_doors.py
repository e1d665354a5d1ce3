"""store systems: signing secrets, the inbox, external ids, refunds

- integration_secret: each store system's signing secrets (encrypted; two live in rotation).
- integration_event: the inbox, one row per (source, event_id), written before acting on it.
- lead_external_id: how another system knows a lead (its customer id there).

(Refunds use h15-journeys' purchase.refunded_minor and purchase_return, migration 0011.)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = db.types.UTCDateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "integration_secret",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("retired_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_integration_secret_store_id_store")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_secret")),
    )
    op.create_index("ix_integration_secret_source", "integration_secret", ["source", "created_at"])
    op.create_table(
        "integration_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=48), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", _WHEN, nullable=True),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("answer", _JSON, nullable=False),
        sa.Column("received_at", _WHEN, nullable=False),
        sa.Column("processed_at", _WHEN, nullable=True),
        sa.Column("delivered_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_integration_event_store_id_store")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_integration_event_lead_id_lead"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_event")),
        sa.UniqueConstraint(
            "source", "event_id", name=op.f("uq_integration_event_source_event_id")
        ),
    )
    op.create_table(
        "lead_external_id",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_lead_external_id_store_id_store")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_lead_external_id_lead_id_lead")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_external_id")),
        sa.UniqueConstraint(
            "store_id",
            "source",
            "external_id",
            name=op.f("uq_lead_external_id_store_id_source_external_id"),
        ),
    )
    op.create_index(
        op.f("ix_lead_external_id_lead_id"), "lead_external_id", ["lead_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_lead_external_id_lead_id"), table_name="lead_external_id")
    op.drop_table("lead_external_id")
    op.drop_table("integration_event")
    op.drop_index("ix_integration_secret_source", table_name="integration_secret")
    op.drop_table("integration_secret")
