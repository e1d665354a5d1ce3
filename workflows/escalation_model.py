"""Payloads of the EscalationTask workflow and of `open_escalation`.

Kept apart from the workflow class and imported through the sandbox's pass-through (as
`journey_model` is), so the worker does not rebuild these pydantic models for every task.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from core.vocabulary import TaskOutcome, TaskStatus
from sequences.vocabulary import Priority, StaffRole, WorkPurpose


class OpenEscalation(BaseModel):
    """Ask for a person. `idempotency_key` names the reason, e.g. `f"{workflow_id}:{step_id}"`."""

    lead_id: uuid.UUID
    kind: str
    role_needed: StaffRole
    reason: str
    sla: timedelta
    priority: Priority = Priority.WARM
    idempotency_key: str
    # A lead that already has an open task of this kind for this role gets no second one.
    reuse_open: bool = True
    purpose: WorkPurpose = WorkPurpose.SALES


class EscalationInput(BaseModel):
    task_id: uuid.UUID
    lead_id: uuid.UUID
    sla: timedelta
    sla_due_at: datetime | None
    assignee_id: uuid.UUID | None = None


class Acknowledgement(BaseModel):
    staff_id: uuid.UUID | None


class Completion(BaseModel):
    staff_id: uuid.UUID | None
    outcome: TaskOutcome


class Handover(BaseModel):
    """The task's row has a new assignee because a person handed it over: the `handover`-th
    time (1, 2, …), which names the new assignee's notice."""

    assignee_id: uuid.UUID
    handover: int = Field(ge=1)


class EscalationView(BaseModel):
    task_id: uuid.UUID
    status: TaskStatus
    breaches: int
    assignee_id: uuid.UUID | None
    sla_due_at: datetime | None


class EscalationResult(BaseModel):
    status: TaskStatus
    outcome: TaskOutcome | None
    breaches: int
    assignees: list[uuid.UUID] = Field(default_factory=list)
