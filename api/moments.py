"""Times callers give Facet, kept where the journeys and the scoring can count with them.

A date far in the future (9999-12-31) or the past (0001-01-01) passed validation, was stored,
and overflowed later: a 500 in a preview, or a nightly rescoring that failed on one row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

from db.types import utcnow

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)  # a till or phone whose clock runs a little ahead
PLANNING_HORIZON = timedelta(days=365 * 100)


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


# When something already happened: a purchase, an event.
Happened = Annotated[AwareDatetime, AfterValidator(_happened)]
# A moment to plan from (a preview's enrollment time), past or future.
Plannable = Annotated[AwareDatetime, AfterValidator(_plannable)]
