"""The dashboard's period picker: its choices, each turned into a registry `Period` (a
half-open [start, end) in UTC, cut at the store's midnights)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from insight.period import Period

# The picker's choices, as a person reads them.
PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "this_week": "This week",
    "last_week": "Last week",
    "this_month": "This month",
    "last_month": "Last month",
    "custom": "Between two dates",
}
MAX_DAYS = 400


class BadPeriod(ValueError):
    """A period the picker cannot use: `field` names the form field, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _month_start(day: date) -> date:
    return day.replace(day=1)


def window(preset: str, now: datetime, timezone: str, first: str = "", last: str = "") -> Period:
    """The period `preset` names at `now` in the store's `timezone`. "Last N days" ends at the
    end of today (today included); weeks start on Monday. `custom` takes two ISO dates, the
    last one included."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    start_day: date
    end_day: date  # exclusive
    if preset in ("7d", "30d", "90d"):
        end_day = today + timedelta(days=1)
        start_day = end_day - timedelta(days=int(preset[:-1]))
    elif preset == "this_week":
        start_day = today - timedelta(days=today.weekday())
        end_day = start_day + timedelta(days=7)
    elif preset == "last_week":
        end_day = today - timedelta(days=today.weekday())
        start_day = end_day - timedelta(days=7)
    elif preset == "this_month":
        start_day = _month_start(today)
        end_day = _month_start(start_day + timedelta(days=32))
    elif preset == "last_month":
        end_day = _month_start(today)
        start_day = _month_start(end_day - timedelta(days=1))
    elif preset == "custom":
        start_day = _date("from", first)
        end_day = _date("to", last) + timedelta(days=1)
        if end_day <= start_day:
            raise BadPeriod("to", "the last day must be on or after the first day")
        if (end_day - start_day).days > MAX_DAYS:
            raise BadPeriod("to", f"choose at most {MAX_DAYS} days")
    else:
        raise BadPeriod("period", f"choose one of: {', '.join(PRESETS)}")
    return Period.of_days(start_day, end_day, timezone, PRESETS[preset])


def _date(field: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadPeriod(field, "give a date as YYYY-MM-DD") from None


def last_full_week(now: datetime, timezone: str) -> Period:
    """Monday to Sunday before the week `now` falls in, in the store's time zone."""
    return window("last_week", now, timezone)


def iso_week(day: datetime, timezone: str) -> str:
    """ "2026-W48": the ISO week the instant falls in, in the store's time zone."""
    year, week, _ = day.astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"
