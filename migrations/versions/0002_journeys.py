"""journeys: tasks carry the business key of whoever asked for them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=300), nullable=True))
        batch.create_unique_constraint(op.f("uq_task_idempotency_key"), ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.drop_constraint(op.f("uq_task_idempotency_key"), type_="unique")
        batch.drop_column("idempotency_key")
