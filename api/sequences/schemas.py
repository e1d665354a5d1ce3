"""Bodies of the sequence routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from db.types import MAX_INTEGER
from domain.fields import CalendarDate, Plannable, TimeZone
from sequences.vocabulary import Occasion


class VersionSummary(BaseModel):
    key: str
    version: int
    name: str
    segment: str | None
    occasion: str | None
    published_by: str
    published_at: datetime


class VersionDetail(VersionSummary):
    body: dict[str, Any]


class Published(BaseModel):
    key: str
    version: int
    created: bool  # False when the body equals the latest version: nothing new was published


class SampleLead(BaseModel):
    """A made-up lead to preview with; nothing about a real person."""

    model_config = ConfigDict(extra="forbid")
    timezone: TimeZone = "Asia/Kolkata"
    segment: str | None = None
    score: int | None = Field(default=None, ge=0, le=100)
    attributes: dict[str, str] = Field(default_factory=dict)
    occasions: dict[Occasion, CalendarDate] = Field(default_factory=dict)


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_id: uuid.UUID | None = Field(default=None, description="Preview for this lead")
    sample: SampleLead | None = Field(default=None, description="…or for a made-up lead")
    start_at: Plannable | None = Field(default=None, description="Enrollment time; now")
    version: int | None = Field(
        default=None, ge=1, le=MAX_INTEGER, description="Default: the latest"
    )


class PlannedStepView(BaseModel):
    step_id: str
    at: datetime = Field(description="Local time in the lead's time zone, with its offset")
    action: str = Field(
        description="send, task, wait, goto, exit, enroll, skipped, missed; "
        "done: the lead's journey already did it (detail says what became of it)"
    )
    detail: str


class Preview(BaseModel):
    key: str
    version: int
    timezone: str
    enrolled_at: datetime
    journey_workflow_id: str | None = Field(
        default=None,
        description="For a lead already in this journey (and no start_at or version given): "
        "the journey followed; the plan starts at its enrollment, steps it sent are `done`",
    )
    steps: list[PlannedStepView]
