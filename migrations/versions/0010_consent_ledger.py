"""consent_record: the consent ledger becomes append-only

Every grant and revocation is kept as its own row (channel, purpose, status, source, who
captured it, the wording shown, when it was given); `consent` stays as the state now, one row
per (lead, channel, purpose), kept in step in the same transaction.

Existing rows become records: a grant; for a revoked row, the grant it had (when one came
first) and the revocation. A revoked channel kept its old meaning — a stop on every purpose —
so each gets a revoked transactional row too, except an email unsubscribe, which now stops
marketing email only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:20:00
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHANNEL = sa.Enum("email", "sms", "whatsapp", name="channel", native_enum=False, length=32)
_PURPOSE = sa.Enum("marketing", "transactional", name="purpose", native_enum=False, length=32)
_STATUS = sa.Enum("granted", "revoked", name="consentstatus", native_enum=False, length=32)
_EMAIL_UNSUBSCRIBES = (
    "one_click_unsubscribe",
    "sendgrid:unsubscribe",
    "sendgrid:group_unsubscribe",
)


def upgrade() -> None:
    record = op.create_table(
        "consent_record",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("channel", _CHANNEL, nullable=False),
        sa.Column("purpose", _PURPOSE, nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("captured_by", sa.String(length=16), nullable=False),
        sa.Column("captured_by_name", sa.String(length=200), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("given_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_consent_record_lead_id_lead")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_record")),
    )
    op.create_index("ix_consent_record_lead_seq", "consent_record", ["lead_id", "seq"])
    _carry_over(record)


def _carry_over(record: sa.Table) -> None:
    bind = op.get_bind()
    consent = sa.table(
        "consent",
        sa.column("id", sa.Uuid()),
        sa.column("lead_id", sa.Uuid()),
        sa.column("channel", _CHANNEL),
        sa.column("purpose", _PURPOSE),
        sa.column("status", _STATUS),
        sa.column("legal_basis", sa.String()),
        sa.column("source", sa.String()),
        sa.column("evidence", sa.Text()),
        sa.column("captured_at", db.types.UTCDateTime(timezone=True)),
        sa.column("revoked_at", db.types.UTCDateTime(timezone=True)),
        sa.column("revoked_via", sa.String()),
    )
    rows = bind.execute(sa.select(consent).order_by(consent.c.captured_at)).mappings().all()
    records: list[dict[str, Any]] = []
    stopped: list[dict[str, Any]] = []
    present = {(row["lead_id"], row["channel"], row["purpose"]) for row in rows}
    for row in rows:
        base = {
            "lead_id": row["lead_id"],
            "channel": row["channel"],
            "purpose": row["purpose"],
            "legal_basis": row["legal_basis"],
            "captured_by": "unknown",
            "captured_by_name": None,
        }
        revoked_at, via = row["revoked_at"], row["revoked_via"]
        granted_first = row["status"] == "granted" or (
            revoked_at is not None and row["captured_at"] < revoked_at and row["source"] != via
        )
        if granted_first:
            records.append(
                {
                    **base,
                    "status": "granted",
                    "source": row["source"],
                    "evidence": row["evidence"],
                    "given_at": row["captured_at"],
                    "recorded_at": row["captured_at"],
                }
            )
        if row["status"] != "revoked":
            continue
        at = revoked_at or row["captured_at"]
        revocation = {
            **base,
            "status": "revoked",
            "source": via or row["source"],
            "evidence": None if granted_first else row["evidence"],
            "given_at": at,
            "recorded_at": at,
        }
        records.append(revocation)
        everything = row["channel"] != "email" or via not in _EMAIL_UNSUBSCRIBES
        key = (row["lead_id"], row["channel"], "transactional")
        if everything and key not in present:
            present.add(key)
            records.append({**revocation, "purpose": "transactional"})
            stopped.append(
                {
                    "id": uuid.uuid4(),
                    "lead_id": row["lead_id"],
                    "channel": row["channel"],
                    "purpose": "transactional",
                    "status": "revoked",
                    "legal_basis": row["legal_basis"],
                    "source": via or row["source"],
                    "evidence": None,
                    "captured_at": at,
                    "revoked_at": at,
                    "revoked_via": via,
                }
            )
    if records:
        op.bulk_insert(record, records)
    if stopped:
        op.bulk_insert(consent, stopped)


def downgrade() -> None:
    op.drop_index("ix_consent_record_lead_seq", table_name="consent_record")
    op.drop_table("consent_record")
