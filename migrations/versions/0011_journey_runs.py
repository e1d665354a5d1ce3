"""journey runs, honest attribution, returns, and what work is for

- enrollment.run / started_by: a lead may go through a sequence more than once (every
  purchase its own post-purchase run, a returning enquiry after an unconverted journey);
  existing rows are run 1, whose workflow id keeps its old spelling;
- store.attribution_window_days: a sale's revenue goes to the journey of the last touch
  within this window (default 30), once;
- purchase.credited_workflow_id / refunded_minor, and purchase_return: a refund (full or
  partial, once per refund id) takes back the revenue credited;
- task.purpose: sales work ends on a purchase or a full opt-out, service work goes on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PURPOSE = sa.Enum("sales", "service", name="workpurpose", native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("enrollment") as batch:
        batch.add_column(sa.Column("run", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("started_by", sa.String(length=200), nullable=True))
        batch.create_index(
            "ix_enrollment_lead_sequence", ["lead_id", "sequence_key", "run"], unique=False
        )
    with op.batch_alter_table("store") as batch:
        batch.add_column(
            sa.Column("attribution_window_days", sa.Integer(), server_default="30", nullable=False)
        )
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("purpose", _PURPOSE, server_default="sales", nullable=False))
    with op.batch_alter_table("purchase") as batch:
        batch.add_column(sa.Column("credited_workflow_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("refunded_minor", _MONEY, server_default="0", nullable=False))
    op.create_table(
        "purchase_return",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("purchase_id", sa.Uuid(), nullable=False),
        sa.Column("refund_id", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", _MONEY, nullable=False),
        sa.Column("reversed_minor", _MONEY, nullable=False),
        sa.Column("reversed_workflow_id", sa.String(length=200), nullable=True),
        sa.Column("items", db.types.JSONDocument, nullable=False),
        sa.Column("returned_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchase.id"], name=op.f("fk_purchase_return_purchase_id_purchase")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_purchase_return_store_id_store")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_return")),
        sa.UniqueConstraint(
            "store_id", "refund_id", name=op.f("uq_purchase_return_store_id_refund_id")
        ),
    )
    op.create_index(
        op.f("ix_purchase_return_purchase_id"), "purchase_return", ["purchase_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_purchase_return_purchase_id"), table_name="purchase_return")
    op.drop_table("purchase_return")
    with op.batch_alter_table("purchase") as batch:
        batch.drop_column("refunded_minor")
        batch.drop_column("credited_workflow_id")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("store") as batch:
        batch.drop_column("attribution_window_days")
    with op.batch_alter_table("enrollment") as batch:
        batch.drop_index("ix_enrollment_lead_sequence")
        batch.drop_column("started_by")
        batch.drop_column("run")
