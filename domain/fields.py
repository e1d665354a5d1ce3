"""Values every door checks the same way: a time zone, a moment that happened, a moment to
plan from. Pydantic types, so an API body and (later) a console form refuse the same input
with the same words.

A date far in the future (9999-12-31) or the past (0001-01-01) once passed validation, was
stored, and overflowed later: a 500 in a preview, or a nightly rescoring that failed on one
row. These bounds keep such values out at the door.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime

from db.types import utcnow

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)  # a till or phone whose clock runs a little ahead
PLANNING_HORIZON = timedelta(days=365 * 100)
CALENDAR_AHEAD = timedelta(days=365 * 10)  # a wedding or a due date a person gives, ahead


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {value!r}; use an IANA name") from error
    return value


def _happened(value: datetime) -> datetime:
    if value < EARLIEST:
        raise ValueError(f"must be on or after {EARLIEST:%Y-%m-%d}")
    if value > utcnow() + CLOCK_SKEW:
        raise ValueError("must not be in the future (a day of clock difference is allowed)")
    return value


def _plannable(value: datetime) -> datetime:
    if abs(value - utcnow()) > PLANNING_HORIZON:
        raise ValueError("must be within 100 years of today")
    return value


# Occasion dates: a wedding or proposal is planned at most a few years ahead; an anniversary
# or birthday is its first date (past) or its next one (within a year).
EARLIEST_DAY = date(1900, 1, 1)
ONE_OFF_AHEAD = timedelta(days=5 * 365 + 1)
YEARLY_AHEAD = timedelta(days=366)


def _day_within(ahead: timedelta) -> AfterValidator:
    def check(value: date) -> date:
        latest = utcnow().date() + ahead
        if not EARLIEST_DAY <= value <= latest:
            raise ValueError(f"must be between {EARLIEST_DAY:%Y-%m-%d} and {latest:%Y-%m-%d}")
        return value

    return AfterValidator(check)


# A wedding's or proposal's date.
OneOffDay = Annotated[date, _day_within(ONE_OFF_AHEAD)]
# An anniversary's or birthday's date: the first one, or the next.
YearlyDay = Annotated[date, _day_within(YEARLY_AHEAD)]
# A day in a person's life given without a kind (a sample lead's occasion): 1900 to ten years
# ahead.
CalendarDate = Annotated[date, _day_within(CALENDAR_AHEAD)]
# An IANA time zone name, e.g. "Asia/Kolkata".
TimeZone = Annotated[str, AfterValidator(_known_timezone)]
# When something already happened: a purchase, an event.
Happened = Annotated[AwareDatetime, AfterValidator(_happened)]
# A moment to plan from (a preview's enrollment time), past or future.
Plannable = Annotated[AwareDatetime, AfterValidator(_plannable)]
