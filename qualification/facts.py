"""What qualification knows about a lead: plain facts gathered by an activity from the database.

The same `LeadFacts` feed the segment rules, the explainable score, the hard triggers and the
learned model's features, so every scorer sees one picture of the lead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Signal:
    """One thing the lead did. `kind` is an `EventKind` value; the rest comes from the payload.

    Payload conventions: `text` (or `message`) for enquiries, questions and replies;
    `category` for category views; `seconds` on product views (time on the page);
    `value_minor` for the piece a question is about; `outcome` for task outcomes.
    """

    kind: str
    at: datetime
    text: str | None = None
    category: str | None = None
    seconds: float | None = None
    value_minor: int | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class LeadFacts:
    captured_at: datetime
    source: str
    budget_band: str | None = None
    budget_minor: int | None = None  # an amount the lead named, in `budget_currency`
    budget_currency: str | None = None
    occasion_date: date | None = None  # the nearest coming occasion, and which it is
    occasion_kind: str | None = None
    # Every coming occasion the lead gave (`Occasion` values), with its next date.
    occasions: tuple[tuple[str, date], ...] = ()
    # What the lead said they like or browsed, in their words (styles and interests).
    interests: tuple[str, ...] = ()
    repeat_customer: bool = False
    segment: str | None = None
    language: str | None = None
    signals: tuple[Signal, ...] = field(default_factory=tuple)
