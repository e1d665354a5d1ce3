"""What qualifying a lead, sweeping for cold leads and refitting a model conclude: plain data.

The domain produces these, the activities return them as they are, and the workflows act on
them (QualifyLead opens the escalation, starts the segment's journey, ends the cancelled
tasks). Pydantic models, so they cross the Temporal boundary with the data converter.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from sequences.vocabulary import Priority, StaffRole


class _Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)


class EscalationNeed(_Outcome):
    """A person is needed now: of this role, for this reason, within this SLA."""

    kind: str
    role_needed: StaffRole
    reason: str
    priority: Priority
    sla: timedelta


class Qualification(_Outcome):
    """What scoring one event found, and what must follow it."""

    score: int
    priority: Priority
    previous_priority: Priority | None
    model_version: str
    segment: str | None
    segment_changed: bool
    escalation: EscalationNeed | None = None
    # The newest journey of the segment the lead just moved into (None: no change, or none).
    segment_sequence: str | None = None
    # The old segment's running journeys the new one takes over: they end as superseded.
    superseded_journeys: list[str] = Field(default_factory=list)
    # Open tasks this event ended (a purchase or an opt-out): their workflows are told to stop.
    cancelled_tasks: list[uuid.UUID] = Field(default_factory=list)

    @property
    def must_act(self) -> bool:
        """Someone must act: a person to call, a journey to start, tasks to end."""
        return (
            self.escalation is not None
            or self.segment_sequence is not None
            or bool(self.superseded_journeys)
            or bool(self.cancelled_tasks)
        )


class ColdLead(_Outcome):
    """A lead in an active journey who has not engaged for their segment's number of days."""

    lead_id: uuid.UUID
    idle_days: int
    last_engaged_on: date


class ModelMetrics(_Outcome):
    auc: float
    brier: float
    n: int
    positives: int


class Refit(_Outcome):
    """One refit of a store's model: what it learned from, and whether it won."""

    store_id: uuid.UUID
    labelled: int
    purchases: int
    version: str | None
    promoted: bool
    reason: str
    candidate: ModelMetrics | None = None
    current: ModelMetrics | None = None
    current_version: str | None = None
