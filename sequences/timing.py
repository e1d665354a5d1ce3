"""When a step is due, in the lead's own time zone. Pure functions, safe for workflows.

Workflows import this module through `workflow.unsafe.imports_passed_through()`: zoneinfo
objects made inside the workflow sandbox cannot convert times (TEMPORAL_NOTES.md).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sequences.calendar import next_festival
from sequences.model import FestivalDate, NextDate, NextOccasion, OccasionDate, Offset, Timing
from sequences.vocabulary import ONE_OFF_OCCASIONS, Occasion

# A step whose time passed by more than this (a paused journey, a worker down for days, a
# bridal journey joined late) is recorded as missed instead of being sent late.
MAX_LATENESS = timedelta(days=1)


def local_instant(day: date, hhmm: str, tz: str) -> datetime:
    """`day` at `hhmm` on the wall clock of `tz`, as a UTC instant.

    A wall time skipped by a DST change (02:30 on a spring-forward night) resolves to the
    same instant an hour later; a repeated one resolves to its first occurrence.
    """
    hour, minute = (int(part) for part in hhmm.split(":"))
    # fold=0 (the default) gives exactly that behaviour for gaps and repeats (PEP 495).
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_date(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


def occasion_in_year(month: int, day: int, year: int) -> date:
    """The occasion's date in `year`; 29 February falls on the 28th in other years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def next_month_day(month: int, day: int, on_or_after: date) -> date:
    """The next date with this month and day, on or after the given date."""
    this_year = occasion_in_year(month, day, on_or_after.year)
    return (
        this_year if this_year >= on_or_after else occasion_in_year(month, day, this_year.year + 1)
    )


def due_at(
    timing: Timing | None,
    *,
    enrolled_at: datetime,
    previous_due: datetime,
    tz: str,
    occasions: dict[Occasion, date],
) -> datetime | None:
    """When a step with this `at` is due; None when it cannot be (an unknown date).

    - no `at`: right after the previous step;
    - an offset: enrollment + offset, however late earlier steps ran;
    - `next: MM-DD HH:MM`: the next such local time after the previous step;
    - `of: <occasion>`: the lead's occasion date (for countdowns, this cycle's), shifted;
    - `festival:`: the festival's next date on or after the local enrollment day, shifted;
    - `next_of:`: the next gifting occasion (see `next_occasion_day`), shifted.
    """
    if timing is None:
        return previous_due
    if isinstance(timing, Offset):
        return enrolled_at + timing.as_timedelta()
    if isinstance(timing, NextDate):
        month, day, hour, minute = timing.month_day_time
        start = local_date(previous_due, tz)
        candidate = next_month_day(month, day, start)
        instant = local_instant(candidate, f"{hour:02d}:{minute:02d}", tz)
        if instant <= previous_due:
            instant = local_instant(
                next_month_day(month, day, candidate + timedelta(days=1)),
                f"{hour:02d}:{minute:02d}",
                tz,
            )
        return instant
    if isinstance(timing, OccasionDate):
        occasion = occasions.get(timing.of)
        if occasion is None:
            return None
        return local_instant(occasion + timing.shift(), timing.time, tz)
    if isinstance(timing, FestivalDate):
        festival = next_festival(timing.festival, local_date(enrolled_at, tz))
        if festival is None:
            return None
        return local_instant(festival + timing.shift(), timing.time, tz)
    if isinstance(timing, NextOccasion):
        target = next_occasion_day(timing, local_date(enrolled_at, tz), occasions)
        if target is None:
            return None
        return local_instant(target + timing.shift(), timing.time, tz)
    raise TypeError(f"unknown timing {timing!r}")


def next_occasion_day(
    timing: NextOccasion, on_or_after: date, occasions: dict[Occasion, date]
) -> date | None:
    """The day a `next_of` step counts to: the soonest of the lead's own dates it names (a
    birthday or anniversary comes round every year; a wedding is its day), on or after the
    given day; when the lead gave none of them, the soonest festival the calendar knows.
    None when neither gives a day (the step is skipped, never guessed)."""
    known = []
    for kind in timing.next_of:
        day = occasions.get(kind)
        if day is None:
            continue
        if kind in ONE_OFF_OCCASIONS:
            if day >= on_or_after:
                known.append(day)
        else:
            known.append(next_month_day(day.month, day.day, on_or_after))
    if known:
        return min(known)
    festivals = [next_festival(festival, on_or_after) for festival in timing.festivals]
    return min((day for day in festivals if day is not None), default=None)
