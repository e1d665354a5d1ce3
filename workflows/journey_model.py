"""Payloads and state of the sequence-running workflows (NurtureJourney, OccasionCountdown).

Kept apart from the workflow classes and imported through the sandbox's pass-through, so
the worker does not rebuild these pydantic models for every workflow run.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from core.vocabulary import JourneyStatus
from sequences.model import Sequence
from sequences.vocabulary import EventKind, Occasion

# Journeys keep this many event ids for de-duplication; older ones are long settled.
SEEN_EVENT_IDS_KEPT = 2_000
# ... and this many recent events for `wait_for` and `when: {seen: …}`.
RECENT_EVENTS_KEPT = 200


class JourneyEvent(BaseModel):
    """Something that happened to the lead; `event_id` is the database event's id.

    `facts` carries small non-personal details a sequence may branch on (a custom job's
    status, a channel), never contact details or message text.
    """

    event_id: uuid.UUID
    kind: EventKind
    occurred_at: datetime
    revenue_minor: int | None = None
    currency: str | None = None
    facts: dict[str, str] = Field(default_factory=dict)


class ReceivedEvent(BaseModel):
    kind: EventKind
    facts: dict[str, str]
    received_at: datetime


class StepRecord(BaseModel):
    """What happened at a step: sent, suppressed, task opened, skipped, missed, waited …"""

    step_id: str
    at: datetime
    status: str
    channel: str | None = None
    reason: str | None = None


class JourneyState(BaseModel):
    """Everything a journey knows; carried whole through continue-as-new."""

    next_step: int = 0
    previous_due: datetime | None = None
    status: JourneyStatus = JourneyStatus.ACTIVE
    outcome: str | None = None
    revenue_minor: int | None = None
    currency: str | None = None
    paused: bool = False
    paused_until: datetime | None = None
    waiting_for: str | None = None
    wait_started: datetime | None = None
    seen_event_ids: list[uuid.UUID] = Field(default_factory=list)
    recent_events: list[ReceivedEvent] = Field(default_factory=list)
    history: list[StepRecord] = Field(default_factory=list)


class JourneyInput(BaseModel):
    lead_id: uuid.UUID
    enrollment_id: uuid.UUID
    sequence_version: int
    sequence: Sequence
    # None: the journey counts from its own start (the Temporal server's clock).
    enrolled_at: datetime | None = None
    state: JourneyState | None = None  # set only when continuing as new


class CountdownInput(BaseModel):
    """A yearly countdown to one of the lead's dates; `year` is the cycle being counted to."""

    lead_id: uuid.UUID
    enrollment_id: uuid.UUID
    sequence_version: int
    sequence: Sequence
    occasion: Occasion
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    year: int
    enrolled_at: datetime | None = None  # None: from the countdown's own start
    state: JourneyState | None = None


class ChangeDate(BaseModel):
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)


class JourneyResult(BaseModel):
    status: JourneyStatus
    outcome: str | None
    revenue_minor: int | None
    steps: list[StepRecord]


class JourneyView(BaseModel):
    """What the `status` query answers: where the journey is and what it waits for."""

    sequence_key: str
    sequence_version: int
    status: JourneyStatus
    paused: bool
    paused_until: datetime | None
    current_step: str | None
    next_due_at: datetime | None
    waiting_for: str | None
    occasion_date: date | None = None
    history: list[StepRecord]


class PauseRequest(BaseModel):
    reason: str


class SupersedeRequest(BaseModel):
    """End the journey as superseded; `reason` is a word, never personal data:
    `new_run` (a newer run of the sequence) or `segment_changed`."""

    reason: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
