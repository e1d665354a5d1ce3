"""Quiet hours: when a marketing message may reach a recipient, in the recipient's local time.

Pure functions over a small table of the rules Facet follows: the US federal window (TCPA,
8:00-21:00) with the stricter states, India's window for promotional messages (10:00-21:00),
and, when the recipient's country or state is unknown, the strictest window of them all. A
journey asks `next_send_time(...)` and waits on a durable timer until the instant it returns.

Times are wall-clock times in the recipient's zone, so "8:00" stays 8:00 across DST changes:
every instant is computed with zoneinfo, never by adding hours to a UTC time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sequences.vocabulary import Purpose

WEEK = range(7)  # Monday = 0 … Sunday = 6, as date.weekday() counts
WEEKDAYS = range(5)
SATURDAY, SUNDAY = 5, 6


@dataclass(frozen=True)
class DailyWindow:
    """Messages may go out from `opens` (inclusive) until `closes` (exclusive)."""

    opens: time
    closes: time

    def intersect(self, other: DailyWindow | None) -> DailyWindow | None:
        if other is None:
            return None
        opens, closes = max(self.opens, other.opens), min(self.closes, other.closes)
        return DailyWindow(opens, closes) if opens < closes else None


# One window per weekday; None means no marketing at all that day.
WeeklyWindow = tuple[DailyWindow | None, ...]


def _every_day(opens: int, closes: int) -> WeeklyWindow:
    return tuple(DailyWindow(time(opens), time(closes)) for _ in WEEK)


def _by_day(
    weekday: tuple[int, int], saturday: tuple[int, int], sunday: tuple[int, int]
) -> WeeklyWindow:
    hours = {SATURDAY: saturday, SUNDAY: sunday}
    return tuple(
        DailyWindow(time(hours.get(day, weekday)[0]), time(hours.get(day, weekday)[1]))
        for day in WEEK
    )


US_FEDERAL = _every_day(8, 21)

# States stricter than the federal window. Texas: 9-21 Monday to Saturday and 12-21 on Sunday
# (Tex. Bus. & Com. Code 305.053), stricter on weekdays than the federal 8:00 start too.
US_STATES: dict[str, WeeklyWindow] = {
    "FL": _every_day(8, 20),
    "OK": _every_day(8, 20),
    "MD": _every_day(8, 20),
    "MS": _every_day(8, 20),
    "NJ": _every_day(8, 20),
    "CT": _every_day(9, 20),
    "TX": _by_day((9, 21), (9, 21), (12, 21)),
    "RI": _by_day((9, 18), (10, 17), (10, 17)),
}

INDIA_PROMOTIONAL = _every_day(10, 21)


def _intersection(*windows: WeeklyWindow) -> WeeklyWindow:
    result: list[DailyWindow | None] = list(windows[0])
    for window in windows[1:]:
        result = [
            mine.intersect(theirs) if mine is not None else None
            for mine, theirs in zip(result, window, strict=True)
        ]
    return tuple(result)


# A US recipient whose state we do not know gets the window every state allows.
US_ANY_STATE = _intersection(US_FEDERAL, *US_STATES.values())
# A recipient whose country we do not know (or whose rules Facet has no table for) gets the
# window every rule in the table allows: weekdays 10-18, Saturday 10-17, Sunday 12-17.
STRICTEST = _intersection(US_ANY_STATE, INDIA_PROMOTIONAL)


@dataclass(frozen=True)
class Recipient:
    """Where a message's recipient is, as far as Facet knows."""

    country: str | None  # ISO 3166-1 alpha-2, e.g. "US", "IN"
    region: str | None  # e.g. the US state, "FL"
    timezone: str | None  # IANA zone, e.g. "America/New_York"


def weekly_window(recipient: Recipient) -> WeeklyWindow:
    """The marketing window that applies to this recipient; the strictest when unknown."""
    country = (recipient.country or "").upper()
    if country == "US":
        region = (recipient.region or "").upper()
        if not region:
            return US_ANY_STATE
        return _intersection(US_FEDERAL, US_STATES.get(region, US_FEDERAL))
    if country == "IN":
        return INDIA_PROMOTIONAL
    return STRICTEST


def zone_of(recipient: Recipient) -> ZoneInfo:
    """The recipient's zone. Unknown zones read as UTC, with the strictest window on top."""
    try:
        return ZoneInfo(recipient.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`day` at wall-clock `at` in `zone`, as a UTC instant (DST-correct)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_send_time(at: datetime, recipient: Recipient, purpose: Purpose) -> datetime:
    """`at` itself when a message may go out then; otherwise the instant the window next opens.

    Transactional messages (an appointment confirmation, a receipt) are not solicitations:
    neither the TCPA's hours nor India's promotional window apply to them.
    """
    if at.tzinfo is None:
        raise ValueError("next_send_time needs an aware datetime")
    if purpose is Purpose.TRANSACTIONAL:
        return at
    window = weekly_window(recipient)
    zone = zone_of(recipient)
    moment = at.astimezone(UTC)
    today = moment.astimezone(zone).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        daily = window[day.weekday()]
        if daily is None:
            continue
        opens = _local_instant(day, daily.opens, zone)
        closes = _local_instant(day, daily.closes, zone)
        if moment < opens:
            return opens
        if moment < closes:
            return at
    raise ValueError(f"no send window in the coming week for {recipient}")


def is_within_window(at: datetime, recipient: Recipient, purpose: Purpose) -> bool:
    return next_send_time(at, recipient, purpose) == at


def local_day(at: datetime, zone: ZoneInfo) -> date:
    """The recipient's calendar date at instant `at` (frequency caps count local days)."""
    return at.astimezone(zone).date()
