"""Festival and gifting dates. Lunar festivals move every year.

Diwali comes from a maintained source, the `holidays` package (its India calendar, which
lists Diwali as a public holiday for every year it knows). Dhanteras and Akshaya Tritiya are
not in it, so they come from the table below; add years as they are announced. A year that
neither knows is *unknown*: publishing a festive sequence or starting a campaign whose
festival falls in it is refused, naming the year (`UnknownFestivalYear`), and a running
journey's festive step is skipped, never guessed.

The table's dates are those most widely published for North India; regional calendars may
differ by a day (Diwali 2025 is 20 October here, 21 October in Gujarati calendars).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from datetime import date, timedelta

import holidays

from sequences.model import FestivalDate, Sequence
from sequences.vocabulary import Festival

LUNAR_FESTIVALS: dict[Festival, dict[int, date]] = {
    # Dhanteras (Dhantrayodashi) falls two days before Lakshmi Puja in most years.
    Festival.DHANTERAS: {
        2025: date(2025, 10, 18),
        2026: date(2026, 11, 6),
        2027: date(2027, 10, 27),
        2028: date(2028, 10, 15),
        2029: date(2029, 11, 3),
        2030: date(2030, 10, 24),
        # 2031-2035: two days before the Diwali dates the `holidays` package and published
        # 2016-2040 Diwali calendars agree on (14 Nov 2031, 2 Nov 2032, 22 Oct 2033, 10 Nov
        # 2034, 30 Oct 2035). Unsure by a day where the trayodashi tithi spans two sunrises:
        # check against the year's panchang before the campaign.
        2031: date(2031, 11, 12),
        2032: date(2032, 10, 31),
        2033: date(2033, 10, 20),
        2034: date(2034, 11, 8),
        2035: date(2035, 10, 28),
    },
    # Used only for years the `holidays` package does not know (it knows 2001-2035).
    Festival.DIWALI: {
        2025: date(2025, 10, 20),
        2026: date(2026, 11, 8),
        2027: date(2027, 10, 29),
        2028: date(2028, 10, 17),
        2029: date(2029, 11, 5),
        2030: date(2030, 10, 26),
    },
    # Vaishakha shukla tritiya.
    Festival.AKSHAYA_TRITIYA: {
        2025: date(2025, 4, 30),  # published: tritiya at sunrise on Wednesday 30 April
        2026: date(2026, 4, 19),
        2027: date(2027, 5, 9),
        2028: date(2028, 4, 27),
        # 2029 has an adhik (extra) Chaitra, which pushes Vaishakha a lunar month later: the
        # old table's 16 April was the tritiya of the adhik month. 16 May follows the month
        # reckoning; unsure by a day, check the 2029 panchang.
        2029: date(2029, 5, 16),
        2030: date(2030, 5, 5),
        # 2031-2035 follow Parshuram Jayanti (the same tithi) as commonly listed; unsure by a
        # day in a year where the tithi starts after sunrise.
        2031: date(2031, 4, 24),
        2032: date(2032, 5, 11),
        2033: date(2033, 5, 1),
        2034: date(2034, 4, 20),
        2035: date(2035, 5, 9),
    },
}

# The years asked of the `holidays` package: from the table's first year to well past its
# last, so that its newer releases extend the calendar without a change here.
_HOLIDAY_YEARS = range(2020, 2061)


def _from_holidays() -> dict[Festival, dict[int, date]]:
    """Diwali for every year the `holidays` package's India calendar knows. It warns for the
    years it does not know and leaves Diwali out of them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        india = holidays.country_holidays("IN", years=_HOLIDAY_YEARS)
    return {Festival.DIWALI: {day.year: day for day in india.get_named("Diwali", lookup="exact")}}


# Computed once, when the module is imported (outside any workflow sandbox): pure data after.
MAINTAINED: dict[Festival, dict[int, date]] = _from_holidays()


class UnknownFestivalYear(ValueError):
    """No source knows the festival's date in `year`."""

    def __init__(self, festival: Festival, year: int) -> None:
        known = known_years(festival)
        span = f" (known: {min(known)}-{max(known)})" if known else ""
        super().__init__(f"the date of {festival.value} in {year} is not known{span}")
        self.festival = festival
        self.year = year


def known_years(festival: Festival) -> list[int]:
    """The years whose date of a lunar festival is known (fixed-date days know every year)."""
    return sorted(set(MAINTAINED.get(festival, {})) | set(LUNAR_FESTIVALS.get(festival, {})))


def _second_sunday_of_may(year: int) -> date:
    first = date(year, 5, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


def festival_in_year(festival: Festival, year: int) -> date | None:
    """The festival's date in `year`, or None when no source knows it."""
    if festival is Festival.VALENTINES_DAY:
        return date(year, 2, 14)
    if festival is Festival.CHRISTMAS:
        return date(year, 12, 25)
    if festival is Festival.MOTHERS_DAY:
        return _second_sunday_of_may(year)
    maintained = MAINTAINED.get(festival, {}).get(year)
    return maintained or LUNAR_FESTIVALS.get(festival, {}).get(year)


def next_festival(festival: Festival, on_or_after: date) -> date | None:
    """The first occurrence on or after the given day (this year's or next year's)."""
    for year in (on_or_after.year, on_or_after.year + 1):
        day = festival_in_year(festival, year)
        if day is not None and day >= on_or_after:
            return day
    return None


def check_known(festivals: Iterable[Festival], on_or_after: date) -> None:
    """Raise `UnknownFestivalYear` for the first festival whose next date from `on_or_after`
    is unknown: the year it would fall in is this year's if this year's date is unknown or
    still to come, else next year's."""
    for festival in sorted(set(festivals)):
        if next_festival(festival, on_or_after) is not None:
            continue
        this_year = festival_in_year(festival, on_or_after.year)
        raise UnknownFestivalYear(
            festival, on_or_after.year if this_year is None else on_or_after.year + 1
        )


def festivals_of(sequence: Sequence) -> set[Festival]:
    """The festivals the sequence's steps are timed by."""
    return {step.at.festival for step in sequence.steps if isinstance(step.at, FestivalDate)}
