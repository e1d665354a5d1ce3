"""Request and response bodies of the task routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.vocabulary import TaskOutcome, TaskStatus
from sequences.vocabulary import StaffRole


class TaskView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    store_id: uuid.UUID
    lead_id: uuid.UUID
    kind: str
    role_needed: StaffRole
    assignee_id: uuid.UUID | None
    reason: str
    routing_reason: str | None
    priority: str
    status: TaskStatus
    outcome: str | None
    sla_due_at: datetime | None
    created_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    notice: dict[str, Any] | None = Field(
        default=None,
        description="The latest notice to the assignee: channel, status and, when they could "
        "not be told, why (no_contact)",
    )


class TaskList(BaseModel):
    tasks: list[TaskView]


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    outcome: TaskOutcome
    note: str | None = Field(default=None, max_length=2000)


class TaskChanged(BaseModel):
    task: TaskView
    duplicate: bool = False
    event_id: uuid.UUID | None = None
