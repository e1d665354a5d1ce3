"""Festival and gifting dates. Lunar festivals move every year, so they come from a table.

Check the table against your local panchang before relying on it, and add years as they are
announced: a date missing here makes a festive step skip, never guess. The dates are those
most widely published for North India; regional calendars may differ by a day.
"""

from __future__ import annotations

from datetime import date, timedelta

from sequences.vocabulary import Festival

LUNAR_FESTIVALS: dict[Festival, dict[int, date]] = {
    Festival.DHANTERAS: {
        2025: date(2025, 10, 18),
        2026: date(2026, 11, 6),
        2027: date(2027, 10, 27),
        2028: date(2028, 10, 15),
        2029: date(2029, 11, 3),
        2030: date(2030, 10, 24),
    },
    Festival.DIWALI: {
        2025: date(2025, 10, 20),
        2026: date(2026, 11, 8),
        2027: date(2027, 10, 29),
        2028: date(2028, 10, 17),
        2029: date(2029, 11, 5),
        2030: date(2030, 10, 26),
    },
    Festival.AKSHAYA_TRITIYA: {
        2025: date(2025, 4, 30),
        2026: date(2026, 4, 19),
        2027: date(2027, 5, 9),
        2028: date(2028, 4, 27),
        2029: date(2029, 4, 16),
        2030: date(2030, 5, 5),
    },
}


def _second_sunday_of_may(year: int) -> date:
    first = date(year, 5, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


def festival_in_year(festival: Festival, year: int) -> date | None:
    """The festival's date in `year`, or None when the table does not know it."""
    if festival is Festival.VALENTINES_DAY:
        return date(year, 2, 14)
    if festival is Festival.CHRISTMAS:
        return date(year, 12, 25)
    if festival is Festival.MOTHERS_DAY:
        return _second_sunday_of_may(year)
    return LUNAR_FESTIVALS.get(festival, {}).get(year)


def next_festival(festival: Festival, on_or_after: date) -> date | None:
    """The first occurrence on or after the given day (this year's or next year's)."""
    for year in (on_or_after.year, on_or_after.year + 1):
        day = festival_in_year(festival, year)
        if day is not None and day >= on_or_after:
            return day
    return None
