"""Request and response bodies of the lead routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.vocabulary import ConsentStatus, JourneyStatus, LeadSource, Stage, TouchStatus
from db.types import MAX_MINOR_UNITS
from domain.fields import Happened, OneOffDay, TimeZone, YearlyDay
from domain.leads import normalise_email
from sequences.vocabulary import BudgetBand, Channel, EventKind, Metal, Purpose, Segment, Stone


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsentGiven(_In):
    """Which channels the person agreed to receive marketing on, and the proof of it."""

    email: bool = False
    sms: bool = False
    whatsapp: bool = False
    evidence: str | None = Field(
        default=None,
        max_length=1000,
        description="What the person agreed to, e.g. the checkbox text and form version",
    )
    submitted_at: Happened | None = Field(
        default=None,
        description="When the person submitted the form (a lead ad's created time). Only a "
        "submission made after a channel was stopped, with its evidence, opts them in there "
        "again; without it a capture never re-grants a stopped channel",
    )

    def channels(self) -> list[Channel]:
        given = {Channel.EMAIL: self.email, Channel.SMS: self.sms, Channel.WHATSAPP: self.whatsapp}
        return [channel for channel, yes in given.items() if yes]


class Budget(_In):
    """What the lead means to spend: an amount in minor units (paise, cents) or a band."""

    amount_minor: int | None = Field(default=None, gt=0, le=MAX_MINOR_UNITS)
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217; default: the store's"
    )
    band: BudgetBand | None = None

    @model_validator(mode="after")
    def _amount_or_band(self) -> Budget:
        if self.amount_minor is None and self.band is None:
            raise ValueError("give amount_minor (with currency) or band")
        if self.currency is not None and self.amount_minor is None:
            raise ValueError("currency goes with amount_minor")
        return self


class Occasions(_In):
    """Dates that matter to the lead. A wedding or proposal is at most five years ahead; an
    anniversary or birthday is its first date or its next (journeys count down every year)."""

    wedding: OneOffDay | None = None
    proposal: OneOffDay | None = None
    anniversary: YearlyDay | None = None
    birthday: YearlyDay | None = None

    def items(self) -> list[tuple[str, date]]:
        return [(kind, day) for kind, day in self.model_dump().items() if day is not None]


Style = Annotated[str, Field(min_length=1, max_length=40)]
Interest = Annotated[str, Field(min_length=1, max_length=200)]


class LeadCapture(_In):
    store_id: uuid.UUID
    source: LeadSource
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(
        default=None, max_length=32, description="Any format; the store's country is assumed"
    )
    email: str | None = Field(default=None, max_length=320)
    preferred_channel: Channel | None = None
    segment: Segment | None = None
    language: str | None = Field(default=None, max_length=16)
    timezone: TimeZone | None = Field(default=None, max_length=64, description="IANA name")
    message: str | None = Field(default=None, max_length=4000, description="The enquiry text")
    pos_customer_id: str | None = Field(default=None, max_length=100)
    occasions: Occasions = Field(
        default_factory=Occasions,
        description='Dates that matter, e.g. {"wedding": "2027-02-14"}',
    )
    budget: Budget | None = None
    metals: list[Metal] = Field(default_factory=list, max_length=6)
    stones: list[Stone] = Field(default_factory=list, max_length=10)
    styles: list[Style] = Field(
        default_factory=list, max_length=10, description='e.g. "halo", "temple", "minimal"'
    )
    interests: list[Interest] = Field(
        default_factory=list,
        max_length=20,
        description='What they said or browsed, in their words, e.g. "bridal sets under 3 lakh"',
    )
    consent: ConsentGiven = ConsentGiven()

    def occasion_dates(self) -> dict[str, str]:
        return {kind: day.isoformat() for kind, day in self.occasions.items()}

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str | None) -> str | None:
        return normalise_email(value)

    @field_validator("timezone", mode="before")
    @classmethod
    def _blank_timezone(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _reachable(self) -> LeadCapture:
        if not self.phone and not self.email:
            raise ValueError("give a phone or an email: a lead needs a way to be reached")
        return self


class CaptureResult(BaseModel):
    lead_id: uuid.UUID
    created: bool
    journey_workflow_id: str | None
    journey_status: JourneyStatus | None
    countdown_workflow_ids: list[str] = Field(default_factory=list)


class ConsentView(BaseModel):
    channel: Channel
    purpose: Purpose
    status: ConsentStatus
    source: str
    evidence: str | None
    captured_at: datetime
    revoked_at: datetime | None


class JourneySummary(BaseModel):
    workflow_id: str
    sequence_key: str
    sequence_version: int
    run: int = Field(description="The lead's n-th time through this sequence")
    status: JourneyStatus
    outcome: str | None
    revenue_minor: int | None
    currency: str | None
    started_at: datetime
    ended_at: datetime | None


class ScoreFactor(BaseModel):
    name: str
    label: str
    points: float


class ScoreView(BaseModel):
    """The score, its tier, and why: top factors each way, hard triggers, the model behind it."""

    value: int
    priority: str | None
    model_version: str | None
    scored_at: datetime | None
    positive: list[ScoreFactor]
    negative: list[ScoreFactor]
    triggers: list[dict[str, str]]


class OwnerView(BaseModel):
    id: uuid.UUID
    name: str
    role: str


class LeadTask(BaseModel):
    id: uuid.UUID
    kind: str
    role_needed: str
    assignee_id: uuid.UUID | None
    priority: str
    status: str
    reason: str
    sla_due_at: datetime | None


class BudgetView(BaseModel):
    amount_minor: int | None
    currency: str | None
    band: str | None


class LeadView(BaseModel):
    id: uuid.UUID
    store_id: uuid.UUID
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    source: str
    segment: str | None
    stage: Stage
    preferred_channel: Channel | None
    language: str | None
    timezone: str | None
    score: int | None
    created_at: datetime
    budget: BudgetView | None = None
    occasions: dict[str, date] = Field(default_factory=dict)
    metals: list[str] = Field(default_factory=list)
    stones: list[str] = Field(default_factory=list)
    styles: list[str] = Field(default_factory=list)
    interests: list[str] = Field(default_factory=list)
    consents: list[ConsentView]
    journeys: list[JourneySummary]
    segment_reason: str | None = None
    score_detail: ScoreView | None = None
    owner: OwnerView | None = None
    open_tasks: list[LeadTask] = Field(default_factory=list)


class JourneyProgress(BaseModel):
    """Where a running journey is, in its own words (the workflow's `status` query)."""

    current_step: str | None
    next_due_at: datetime | None
    next_due_local: str | None = Field(description="next_due_at on the lead's clock")
    waiting_for: str | None
    paused: bool
    paused_until: datetime | None
    occasion_date: date | None
    steps_done: int


class JourneyDetail(JourneySummary):
    progress: JourneyProgress | None = Field(
        description="Live from the workflow; null once it has ended or if it did not answer"
    )


class EventEntry(BaseModel):
    type: Literal["event"] = "event"
    at: datetime
    event_id: uuid.UUID
    kind: str
    source: str
    payload: dict[str, Any]


class TouchEntry(BaseModel):
    type: Literal["touch"] = "touch"
    at: datetime
    touch_id: uuid.UUID
    to: Literal["lead", "staff"] = Field(
        default="lead", description="staff: a task notice about this lead to a staff member"
    )
    step_id: str
    channel: Channel | None
    template: str
    status: TouchStatus = Field(
        description="sent (the provider took it), then delivered, opened, clicked … as it "
        "reports; outbox: no provider is configured for the channel, so the message was kept "
        "in Facet and nothing left; held, suppressed, failed …"
    )
    reason: str | None = Field(
        description="Why it was not sent: quiet_hours (held), no_consent, frequency_cap, "
        "invalid_contact, window_closed, no_contact, opted_out; or why it failed; or, with "
        "fell_back_from, why it did not go on the lead's preferred channel"
    )
    fell_back_from: Channel | None = Field(
        default=None,
        description="Sent on another channel than the lead's preferred one, which was this",
    )
    held_until: datetime | None = Field(
        default=None,
        description="held: when the recipient's window opens and the journey sends the step; "
        "on a message sent later, when it had been held until",
    )
    subject: str | None
    body: str | None
    provider: str | None


TimelineEntry = Annotated[EventEntry | TouchEntry, Field(discriminator="type")]


class ConsentChange(BaseModel):
    """One record of the consent ledger: a grant or a revocation, as it was given."""

    given_at: datetime = Field(description="When the person gave or withdrew it")
    channel: Channel
    purpose: Purpose
    status: ConsentStatus
    source: str = Field(description="Where: the form's source, whatsapp:keyword, console, …")
    captured_by: str = Field(description="form, staff, webhook, link or provider")
    captured_by_name: str | None = Field(description="The member of staff who recorded it")
    evidence: str | None = Field(description="The wording shown, or what the person sent")
    recorded_at: datetime


class Timeline(BaseModel):
    lead_id: uuid.UUID
    entries: list[TimelineEntry]
    journeys: list[JourneySummary]
    consent: list[ConsentChange] = Field(
        default_factory=list,
        description="The lead's consent history, oldest first: every grant and revocation",
    )
    next_cursor: str | None = Field(
        default=None,
        description="More entries follow: pass this as `cursor` for the next page",
    )


class EventIn(_In):
    event_id: str = Field(
        min_length=1, max_length=200, description="Your id for this event; repeats are ignored"
    )
    kind: EventKind
    occurred_at: Happened | None = None
    source: str = Field(default="api", max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)
    revenue_minor: int | None = Field(
        default=None, ge=0, le=MAX_MINOR_UNITS, description="For purchases"
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class EventRecorded(BaseModel):
    event_id: uuid.UUID
    duplicate: bool
    delivered_to: list[str]


class LikelyDuplicateView(BaseModel):
    """Two leads that look like one person: merge `other_lead_id` into `keep_lead_id` with
    POST /v1/leads/{keep_lead_id}/merge once a person has confirmed it."""

    keep_lead_id: uuid.UUID
    keep_name: str
    other_lead_id: uuid.UUID
    other_name: str
    store_id: uuid.UUID
    reasons: list[str]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    other_lead_id: uuid.UUID = Field(description="The duplicate: merged into this lead, then gone")


class MergeResult(BaseModel):
    lead_id: uuid.UUID
    merge_event_id: uuid.UUID
    started_journeys: list[str]
