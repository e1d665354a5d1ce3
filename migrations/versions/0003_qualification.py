"""qualification: lead score columns, idempotent tasks, learned scoring models per store

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:19:23.920651
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scoring_model",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_scoring_model_store_id_store")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_model")),
        sa.UniqueConstraint("version", name=op.f("uq_scoring_model_version")),
    )
    with op.batch_alter_table("scoring_model", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scoring_model_store_id"), ["store_id"], unique=False)

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("score_model_version", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("scored_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("acknowledged_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("completed_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_task_idempotency_key"), ["idempotency_key"]
        )

    # A touch to a member of staff (a task notice) rather than to the lead.
    with op.batch_alter_table("touch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_touch_staff_id_staff"), "staff", ["staff_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("touch", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_touch_staff_id_staff"), type_="foreignkey")
        batch_op.drop_column("staff_id")

    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_task_idempotency_key"), type_="unique")
        batch_op.drop_column("completed_at")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("idempotency_key")

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("scored_at")
        batch_op.drop_column("score_model_version")
        batch_op.drop_column("priority")

    with op.batch_alter_table("scoring_model", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scoring_model_store_id"))

    op.drop_table("scoring_model")
