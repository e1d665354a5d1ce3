"""Payloads of the qualification workflows (QualifyLead, NightlyQualification, ColdLeadSweep).

Kept apart from the workflow classes and imported through the sandbox's pass-through (as
`journey_model` is), so the worker does not rebuild these pydantic models for every event.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from qualification.outcomes import Qualification, Refit
from sequences.vocabulary import Priority


class QualifyInput(BaseModel):
    lead_id: uuid.UUID
    event_id: uuid.UUID
    # What the API's in-request scoring of this event decided. The workflow acts on it rather
    # than scoring again: by then the lead's new segment and tier are saved, so a second
    # scoring sees no change, and would neither enroll nor escalate. None: score here.
    decided: Qualification | None = None


class QualifyOutcome(BaseModel):
    score: int
    priority: Priority
    model_version: str
    task_id: uuid.UUID | None = None
    enrolled: str | None = None  # what enrolling in the new segment's journey did
    superseded: list[str] = Field(default_factory=list)  # old segment journeys told to end
    cancelled_tasks: list[uuid.UUID] = Field(default_factory=list)


class NightlyInput(BaseModel):
    store_id: uuid.UUID | None = None  # None: every store
    rescore: bool = True
    seed: int = 7


class NightlyResult(BaseModel):
    refits: list[Refit] = Field(default_factory=list)
    rescored: int = 0


class ColdSweepInput(BaseModel):
    store_id: uuid.UUID | None = None  # None: every store (what the schedule runs)


class SweepResult(BaseModel):
    tasks: list[uuid.UUID] = Field(default_factory=list)
