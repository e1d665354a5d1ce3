"""Periods: half-open [start, end) ranges of instants, cut at midnights of the store's zone.

A `Period` holds UTC-aware instants (the database stores UTC); its label is written in the
store's zone, so "Mon 23 – Thu 26 Nov" means what the owner saw on the shop's calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    """Instants in [start, end), both UTC-aware; `zone` is the store's IANA time zone."""

    start: datetime
    end: datetime
    zone: str = "UTC"
    name: str = ""  # how it was asked for, e.g. "last week" (empty: none given)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period's start and end must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    @classmethod
    def of_days(cls, first: date, last_exclusive: date, zone: str, name: str = "") -> Period:
        """Local midnight of `first` up to local midnight of `last_exclusive`, in `zone`."""
        tz = ZoneInfo(zone)
        return cls(
            datetime.combine(first, time(), tz).astimezone(UTC),
            datetime.combine(last_exclusive, time(), tz).astimezone(UTC),
            zone,
            name,
        )

    def previous(self) -> Period:
        """The equal period just before this one (for "compared with the previous period")."""
        length = self.end - self.start
        return Period(self.start - length, self.start, self.zone, f"before {self.label()}")

    def local(self) -> tuple[datetime, datetime]:
        tz = ZoneInfo(self.zone)
        return self.start.astimezone(tz), self.end.astimezone(tz)

    def label(self) -> str:
        """'Mon 23 – Thu 26 Nov 2026' (the last day shown is the one before `end`)."""
        start, end = self.local()
        last = end - timedelta(microseconds=1) if end.time() == time() else end
        if start.date() == last.date():
            return f"{start:%a} {start.day} {start:%b %Y}"
        if start.year != last.year:
            return f"{start:%a} {start.day} {start:%b %Y} – {last:%a} {last.day} {last:%b %Y}"
        if start.month != last.month:
            return f"{start:%a} {start.day} {start:%b} – {last:%a} {last.day} {last:%b %Y}"
        return f"{start:%a} {start.day} – {last:%a} {last.day} {last:%b %Y}"
