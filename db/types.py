"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps. SQLite drops the offset, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")

# The largest value a plain INTEGER column holds on PostgreSQL (a sequence's version number).
MAX_INTEGER = 2**31 - 1
# Money in minor units (paise, cents, rupiah): 64-bit. PostgreSQL's INTEGER stops at 2^31 - 1,
# under a ₹2.1 crore sale or a Rp 21 million ring; SQLite's INTEGER is 64-bit already.
MinorUnits = BigInteger().with_variant(Integer(), "sqlite")
# The most the API accepts in one amount: 10^13 in major units, above any jewellery sale in any
# currency, and far enough under 2^63 that a lead's purchases still add up inside the column.
MAX_MINOR_UNITS = 10**15


def string_enum(enum_type: type[enum.StrEnum]) -> Enum:
    """Store a StrEnum as its value in a plain string column (no native PostgreSQL enum)."""
    return Enum(
        enum_type,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


__all__ = ["JSONDocument", "UTCDateTime", "string_enum", "utcnow"]
