"""Going cold: a lead in an active journey that has not engaged for N days (N per segment)."""

from __future__ import annotations

from sequences.vocabulary import Segment

DEFAULT_COLD_AFTER_DAYS = 21
# Short cycles go cold sooner; a gold scheme pays monthly and is quiet in between.
COLD_AFTER_DAYS: dict[str, int] = {
    Segment.ENGAGEMENT.value: 14,
    Segment.BRIDAL.value: 10,
    Segment.CUSTOM_DESIGN.value: 10,
    Segment.ANNIVERSARY.value: 21,
    Segment.GIFTING.value: 7,
    Segment.DAILY_WEAR.value: 21,
    Segment.GOLD_SCHEME.value: 45,
    Segment.REPAIR.value: 7,
}


def cold_after_days(segment: str | None, overrides: dict[str, int] | None = None) -> int:
    table = {**COLD_AFTER_DAYS, **(overrides or {})}
    return table.get(segment or "", DEFAULT_COLD_AFTER_DAYS)


def is_going_cold(
    idle_days: float | None, segment: str | None, overrides: dict[str, int] | None = None
) -> bool:
    return idle_days is not None and idle_days >= cold_after_days(segment, overrides)
