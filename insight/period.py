"""Periods: half-open [start, end) ranges of instants, cut at midnights of the store's zone.

A `Period` holds UTC-aware instants (the database stores UTC); its label is written in the
store's zone, so "Mon 23 – Thu 26 Nov" means what the owner saw on the shop's calendar.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser


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


# --- the period grammar of plain-words questions ------------------------------------------------
# dateparser gives points, not ranges ("last month" is a day a month ago), so the ranges are
# written here; dateparser only reads the explicit dates inside them ("since 3 Oct").

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
# An explicit date: "3 oct", "oct 3rd", "3 october 2026", "1/10/2026", "2026-10-01", "october".
_DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}(?:\s+\d{{4}})?)"
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "twelve": 12, "thirty": 30, "sixty": 60, "ninety": 90,
}  # fmt: skip
_COUNT = r"(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")"


def date_order(country: str | None) -> str:
    """How a store's people write dates: month first in the US, day first elsewhere."""
    return "MDY" if (country or "").upper() in {"US", "PH", "FM", "PW", "MH"} else "DMY"


@dataclass(frozen=True)
class PeriodMatch:
    period: Period
    span: tuple[int, int]  # where in the (normalised) text it was said


class PeriodGrammar:
    """Reads a period phrase out of a lower-cased question at a fixed `today` (store time).

    Ranges are half-open and end at the next midnight when they include today ("this week"
    on Thu 26 Nov is Mon 23 – Thu 26, i.e. [23 Nov, 27 Nov)). "Last N days" is the N days
    up to and including today. A month or quarter named without a year that has not begun
    yet this year means last year's.
    """

    def __init__(self, today: date, zone: str, order: str = "DMY", week_start: int = 0):
        self.today = today
        self.zone = zone
        self.order = order
        self.week_start = week_start  # 0 = Monday
        self.tomorrow = today + timedelta(days=1)
        self._rules: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Period | None]]] = [
            (re.compile(rf"\bbetween\s+({_DATE})\s+and\s+({_DATE})\b"), self._between),
            (re.compile(rf"\bfrom\s+({_DATE})\s+(?:to|until|till)\s+({_DATE})\b"), self._between),
            (re.compile(rf"\bsince\s+({_DATE})\b"), self._since),
            (
                re.compile(
                    r"\b(?:in\s+the\s+)?(?:last|past|previous)\s+"
                    + _COUNT
                    + r"\s+(day|week|month)s?\b"
                ),
                self._last_n,
            ),
            (re.compile(r"\b(?:year to date|ytd|this year)\b"), self._this_year),
            (re.compile(r"\blast year\b"), self._last_year),
            (re.compile(r"\b(this|last|previous)\s+(week|month|quarter)\b"), self._calendar),
            (re.compile(r"\b(?:week|month|quarter) to date\b"), self._to_date),
            (re.compile(r"\bq([1-4])(?:\s+(\d{4}))?\b"), self._quarter_n),
            (re.compile(r"\btoday\b|\bright now\b|\bnow\b|\bcurrently\b"), self._today),
            (re.compile(r"\byesterday\b"), self._yesterday),
            (re.compile(rf"\b(?:in|during|for)\s+({_MONTH})(?:\s+(\d{{4}}))?\b"), self._in_month),
            (re.compile(rf"\bon\s+({_DATE})\b"), self._on_day),
        ]

    def find(self, text: str) -> PeriodMatch | None:
        for pattern, rule in self._rules:
            match = pattern.search(text)
            if match is None:
                continue
            period = rule(match)
            if period is not None:
                named = Period(period.start, period.end, period.zone, match.group(0).strip())
                return PeriodMatch(named, match.span())
        return None

    def default(self) -> Period:
        """No period said: the last 30 days, up to and including today."""
        return self._days(self.today - timedelta(days=29), self.tomorrow, "the last 30 days")

    # the rules ------------------------------------------------------------------------------

    def _days(self, first: date, end: date, name: str = "") -> Period:
        return Period.of_days(first, end, self.zone, name)

    def _date(self, text: str, *, end_of_month: bool = False) -> date | None:
        """An explicit date; a bare month means its first day (or, as an end, its last)."""
        bare = re.fullmatch(rf"({_MONTH})(?:\s+(\d{{4}}))?", text)
        if bare:
            month = MONTHS[bare.group(1)]
            year = int(bare.group(2)) if bare.group(2) else self._past_year(month, 1)
            if end_of_month:
                return _month_start(year, month + 1) - timedelta(days=1)
            return date(year, month, 1)
        parsed = dateparser.parse(
            text,
            languages=["en"],
            settings={
                "DATE_ORDER": self.order,
                "PREFER_DATES_FROM": "past",
                "RELATIVE_BASE": datetime.combine(self.today, time()),
                "PREFER_DAY_OF_MONTH": "first",
            },
        )
        return parsed.date() if parsed else None

    def _past_year(self, month: int, day: int) -> int:
        year = self.today.year
        return year if date(year, month, day) <= self.today else year - 1

    def _between(self, match: re.Match[str]) -> Period | None:
        first = self._date(match.group(1))
        last = self._date(match.group(2), end_of_month=True)
        if first is None or last is None or last < first:
            return None
        return self._days(first, last + timedelta(days=1))

    def _since(self, match: re.Match[str]) -> Period | None:
        first = self._date(match.group(1))
        if first is None or first > self.today:
            return None
        return self._days(first, self.tomorrow)

    def _last_n(self, match: re.Match[str]) -> Period | None:
        count = match.group(1)
        n = int(count) if count.isdigit() else _NUMBER_WORDS[count]
        if not 1 <= n <= 999:
            return None
        unit = match.group(2)
        if unit == "day":
            first = self.today - timedelta(days=n - 1)
        elif unit == "week":
            first = self.today - timedelta(days=7 * n - 1)
        else:
            first = _add_months(self.today, -n) + timedelta(days=1)
        return self._days(first, self.tomorrow)

    def _this_year(self, match: re.Match[str]) -> Period:
        return self._days(date(self.today.year, 1, 1), self.tomorrow)

    def _last_year(self, match: re.Match[str]) -> Period:
        return self._days(date(self.today.year - 1, 1, 1), date(self.today.year, 1, 1))

    def _week_start(self) -> date:
        return self.today - timedelta(days=(self.today.weekday() - self.week_start) % 7)

    def _quarter_start(self) -> date:
        return date(self.today.year, 3 * ((self.today.month - 1) // 3) + 1, 1)

    def _calendar(self, match: re.Match[str]) -> Period:
        which, unit = match.group(1), match.group(2)
        if unit == "week":
            start = self._week_start()
            if which == "this":
                return self._days(start, self.tomorrow)
            return self._days(start - timedelta(days=7), start)
        months = 1 if unit == "month" else 3
        start = date(self.today.year, self.today.month, 1) if months == 1 else self._quarter_start()
        if which == "this":
            return self._days(start, self.tomorrow)
        return self._days(_add_months(start, -months), start)

    def _to_date(self, match: re.Match[str]) -> Period:
        unit = match.group(0).split()[0]
        return self._calendar(re.match(r"(this) (\w+)", f"this {unit}"))  # type: ignore[arg-type]

    def _quarter_n(self, match: re.Match[str]) -> Period | None:
        quarter = int(match.group(1))
        year = int(match.group(2)) if match.group(2) else self.today.year
        start = date(year, 3 * quarter - 2, 1)
        if start > self.today:
            if match.group(2):
                return None
            start = date(year - 1, 3 * quarter - 2, 1)
        return self._days(start, min(_add_months(start, 3), self.tomorrow))

    def _today(self, match: re.Match[str]) -> Period:
        return self._days(self.today, self.tomorrow)

    def _yesterday(self, match: re.Match[str]) -> Period:
        return self._days(self.today - timedelta(days=1), self.today)

    def _in_month(self, match: re.Match[str]) -> Period | None:
        month = MONTHS[match.group(1)]
        year = int(match.group(2)) if match.group(2) else self._past_year(month, 1)
        start = date(year, month, 1)
        if start > self.today:
            return None
        return self._days(start, min(_month_start(year, month + 1), self.tomorrow))

    def _on_day(self, match: re.Match[str]) -> Period | None:
        day = self._date(match.group(1))
        if day is None or re.fullmatch(rf"{_MONTH}(?:\s+\d{{4}})?", match.group(1)):
            return None
        return self._days(day, day + timedelta(days=1))


def _month_start(year: int, month: int) -> date:
    """The first of `month` in `year`, where month 13 is next January."""
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = (_month_start(year, month + 2) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))
