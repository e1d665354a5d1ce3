"""import_run.progress_at: when a run last wrote a unit of rows, so a run whose process died
(an API restart) is told apart from one still running, and reported `interrupted`

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "import_run",
        sa.Column("progress_at", db.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE import_run DROP COLUMN progress_at")
