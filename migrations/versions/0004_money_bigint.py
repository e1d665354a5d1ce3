"""money in minor units is 64-bit: purchase.amount_minor and enrollment.revenue_minor

PostgreSQL's INTEGER stops at 2,147,483,647 minor units (₹2.1 crore, Rp 21 million), which a
single jewellery sale can pass: the POS hook answered 500 for it. SQLite's INTEGER is 64-bit
already, so there is nothing to change there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("purchase", "amount_minor", False), ("enrollment", "revenue_minor", True))


def _retype(new: sa.types.TypeEngine[int], old: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite's INTEGER is 64-bit already
    for table, column, nullable in COLUMNS:
        op.alter_column(table, column, type_=new, existing_type=old, nullable=nullable)


def upgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())
