"""product, import_run, outbound_call, touch.shown_skus: the catalogue, CSV import runs,
calls to store systems made once (Valigara's product_sold), the picks a message showed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_MINOR = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "product",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_product_id", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("metal", sa.String(length=32), nullable=True),
        sa.Column("purity", sa.String(length=16), nullable=True),
        sa.Column("weight_g", sa.Float(), nullable=True),
        sa.Column("stones", _JSON, nullable=False),
        sa.Column("price_minor", _MINOR, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("image_url", sa.String(length=1000), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"], name=op.f("fk_product_store_id_store")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("store_id", "sku", name=op.f("uq_product_store_id_sku")),
    )
    op.create_table(
        "import_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_failed", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("deactivated", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors", _JSON, nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.Column("finished_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_import_run_store_id_store")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    op.create_index(op.f("ix_import_run_store_id"), "import_run", ["store_id"], unique=False)
    op.create_table(
        "outbound_call",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("done_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_outbound_call_store_id_store")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_call")),
        sa.UniqueConstraint("key", name=op.f("uq_outbound_call_key")),
    )
    # Plain ALTERs (no batch copy on SQLite, which would lose touch's expression index).
    op.add_column("touch", sa.Column("shown_skus", _JSON, nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE touch DROP COLUMN shown_skus")
    op.drop_table("outbound_call")
    op.drop_index(op.f("ix_import_run_store_id"), table_name="import_run")
    op.drop_table("import_run")
    op.drop_table("product")
