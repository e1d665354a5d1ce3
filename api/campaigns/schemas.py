"""Bodies of the campaign routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.sequences.schemas import PlannedStepView
from domain.fields import CalendarDate
from sequences.vocabulary import Channel, Priority


class CampaignIn(BaseModel):
    """A campaign to create (a draft: nothing is sent until it is started)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=200)
    sequence_key: str = Field(
        min_length=1, max_length=100, description="The published sequence to enroll leads in"
    )
    channels: list[Channel] = Field(
        min_length=1,
        max_length=3,
        description="Only leads with marketing consent on at least one of these are included",
    )
    store_id: uuid.UUID | None = Field(default=None, description="The branch; default: all")
    segment: str | None = Field(default=None, max_length=32)
    score_tier: Priority | None = None
    last_purchase_before: CalendarDate | None = Field(
        default=None, description="Leads whose last purchase was before this day (UTC)"
    )
    last_purchase_after: CalendarDate | None = Field(
        default=None, description="Leads whose last purchase was on or after this day (UTC)"
    )


class CampaignView(BaseModel):
    id: uuid.UUID
    name: str
    sequence_key: str
    store_id: uuid.UUID | None
    audience: dict[str, str | None]
    channels: list[Channel]
    status: str = Field(description="draft, running, completed or cancelled")
    total: int | None = Field(description="The audience's size when it started")
    enrolled: int
    batches_done: int
    journeys_ended: int = Field(description="After a cancel: running journeys it ended")
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SampleMessageView(BaseModel):
    step_id: str
    channel: Channel
    subject: str | None
    body: str


class CampaignPreviewView(BaseModel):
    campaign_id: uuid.UUID
    count: int = Field(description="Leads a start would enroll now")
    sample_lead_id: uuid.UUID | None
    sample: SampleMessageView | None
    problem: str | None = Field(description="Why no sample message is shown")
    timezone: str | None = Field(description="The sample lead's time zone")
    plan: list[PlannedStepView] = Field(
        description="When each step would reach the sample lead, enrolled now"
    )
