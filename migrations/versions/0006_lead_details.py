"""what the lead told us, idempotent requests, and why a message or a sale went as it did

- lead: a budget (an amount in minor units with its currency, beside the band), metal, stone
  and style preferences and free-text interests, as plain fields a lead card can show.
- idempotent_request: a POST made with an `Idempotency-Key`, its fingerprint and first answer,
  replayed to a retry with the same key.
- touch.fell_back_from: a message sent on another channel than the lead's preferred one
  (`reason` says why).
- purchase.converted_journeys: the journeys a sale converted, so a repeated sale answers them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEAD_LISTS = ("metals", "stones", "styles", "interests")


def _json_list(name: str) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
        nullable=False,
        server_default=sa.text("'[]'"),
    )


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.add_column(
            sa.Column(
                "budget_minor",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("budget_currency", sa.String(length=3), nullable=True))
        for name in LEAD_LISTS:
            batch.add_column(_json_list(name))
    with op.batch_alter_table("touch") as batch:
        batch.add_column(sa.Column("fell_back_from", sa.String(length=32), nullable=True))
    with op.batch_alter_table("purchase") as batch:
        batch.add_column(_json_list("converted_journeys"))
    op.create_table(
        "idempotent_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_request")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_idempotent_request_scope_key")),
    )
    op.create_index(op.f("ix_idempotent_request_created_at"), "idempotent_request", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotent_request_created_at"), table_name="idempotent_request")
    op.drop_table("idempotent_request")
    with op.batch_alter_table("purchase") as batch:
        batch.drop_column("converted_journeys")
    with op.batch_alter_table("touch") as batch:
        batch.drop_column("fell_back_from")
    with op.batch_alter_table("lead") as batch:
        for name in reversed(LEAD_LISTS):
            batch.drop_column(name)
        batch.drop_column("budget_currency")
        batch.drop_column("budget_minor")
