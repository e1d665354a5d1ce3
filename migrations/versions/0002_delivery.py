"""delivery: frequency caps, invalid contact points, held touches, webhook receipts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:17:01.404046
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_receipt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_receipt")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_webhook_receipt_source_external_id")
        ),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_invalid_reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email_invalid_reason", sa.String(length=64), nullable=True))

    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_marketing_per_day", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_marketing_per_week", sa.Integer(), nullable=True))

    with op.batch_alter_table("touch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "content_variables",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("held_until", db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("touch", schema=None) as batch_op:
        batch_op.drop_column("held_until")
        batch_op.drop_column("content_variables")
        batch_op.drop_column("content_sid")

    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.drop_column("max_marketing_per_week")
        batch_op.drop_column("max_marketing_per_day")

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("email_invalid_reason")
        batch_op.drop_column("phone_invalid_reason")

    op.drop_table("webhook_receipt")
