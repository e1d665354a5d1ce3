"""Inputs and results of the qualification, task and learning activities, and their names.

Workflows import this module (never the activities themselves). Payloads carry ids, times and
small facts; contact details stay in the database.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from core.vocabulary import TaskStatus
from qualification.outcomes import ColdLead
from sequences.vocabulary import Priority, StaffRole, WorkPurpose

QUALIFY_LEAD = "qualify_lead"
OPEN_TASK = "open_task"
NOTIFY_ASSIGNEE = "notify_assignee"
ABANDON_NOTICE = "abandon_notice"
REASSIGN_TASK = "reassign_task"
FIND_COLD_LEADS = "find_cold_leads"
LIST_STORES = "list_stores"
REFIT_MODEL = "refit_model"
RESCORE_LEADS = "rescore_leads"
CANCEL_ESCALATIONS = "cancel_escalations"


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True)


class QualifyRequest(_Payload):
    """Rescore the lead now; `event_id` is the event that prompted it (None: a plain rescore)."""

    lead_id: uuid.UUID
    event_id: uuid.UUID | None
    now: datetime


class OpenTaskRequest(_Payload):
    """Open (or find) a task. `idempotency_key` makes a retry return the same task."""

    lead_id: uuid.UUID
    kind: str
    role_needed: StaffRole
    reason: str
    priority: Priority
    sla: timedelta
    idempotency_key: str
    requested_at: datetime
    # When the lead already has an open task of this kind for this role, return that one.
    reuse_open: bool = True
    purpose: WorkPurpose = WorkPurpose.SALES


class TaskOpened(_Payload):
    task_id: uuid.UUID
    created: bool
    status: TaskStatus
    assignee_id: uuid.UUID | None
    sla_due_at: datetime | None


class NotifyRequest(_Payload):
    """Tell the task's current assignee; `assignment` numbers the (re)assignments from 0."""

    task_id: uuid.UUID
    assignment: int


class NotifyResult(_Payload):
    touch_id: uuid.UUID | None
    channel: str | None
    reason: str | None = None


class ReassignRequest(_Payload):
    task_id: uuid.UUID
    breach: int  # 1: the next candidate; 2 or more: the store manager
    now: datetime
    sla_due_at: datetime


class TaskAssigned(_Payload):
    still_open: bool
    status: TaskStatus | None = None  # the row's status (a cancelled task ends its workflow)
    assignee_id: uuid.UUID | None
    sla_due_at: datetime | None
    routing_reason: str | None


class ColdSweepRequest(_Payload):
    now: datetime
    store_id: uuid.UUID | None = None  # None: every store


class ColdLeads(_Payload):
    leads: list[ColdLead]


class StoreList(_Payload):
    store_ids: list[uuid.UUID]


class RefitRequest(_Payload):
    store_id: uuid.UUID
    now: datetime
    seed: int = 7


class RescoreRequest(_Payload):
    now: datetime
    store_id: uuid.UUID | None = None


class RescoreResult(_Payload):
    leads: int


class Cancellation(_Payload):
    """Why a task ended without a person: the lead bought or opted out."""

    reason: str


class CancelEscalations(_Payload):
    task_ids: list[uuid.UUID]
    reason: str
