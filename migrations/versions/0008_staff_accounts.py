"""staff_account: people sign in to the console with an email and a password

One row per person who may sign in: email (unique, normalised), an argon2 hash (unset until
the invite link is used), the API role they act with, the staff member they are (associates
and the specialist roles), a branch limit for admin and marketing, `all_branches` for a
manager of a chain, the invite's single-use nonce, and `sessions_valid_after` for signing out.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_account",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "marketing",
                "associate",
                "pos",
                name="apirole",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("store_id", sa.Uuid(), nullable=True),
        sa.Column("all_branches", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("invite_nonce", sa.String(length=64), nullable=True),
        sa.Column("invited_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("password_set_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sessions_valid_after", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_account_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_staff_account_store_id_store")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_account")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_account_email")),
        sa.UniqueConstraint("staff_id", name=op.f("uq_staff_account_staff_id")),
    )


def downgrade() -> None:
    op.drop_table("staff_account")
