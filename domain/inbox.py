"""The inbox: a person's open tasks, soonest SLA first, each with what they need to act on
it — the task's reason and a card of its lead (who, segment, score and why, budget and
preferences, what they asked, the last messages both ways).

Plain, frozen views, built inside the unit of work, so a page renders them after the session
has closed. Who sees which task is `domain.tasks`' rule (`tasks_for`, `task_for`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.vocabulary import TaskStatus
from db.models import Event, Lead, Staff, Task, Touch
from db.repositories import EventRepository, StaffRepository, TouchRepository
from domain.access import Actor
from domain.tasks import TaskQuery, task_for, tasks_for
from qualification.scoring import spoken_money
from sequences.vocabulary import EventKind

LAST_MESSAGES = 4
TOP_FACTORS = 3
# What a lead wrote to the store, and what they asked or looked at.
_FROM_LEAD = {EventKind.INBOUND_MESSAGE, EventKind.REPLY}
_ASKED = {
    EventKind.CAPTURED,
    EventKind.ENQUIRY,
    EventKind.QUESTION,
    EventKind.TECHNICAL_QUESTION,
    EventKind.PRODUCT_VIEW,
    EventKind.CATEGORY_VIEW,
    EventKind.APPOINTMENT_REQUESTED,
}


@dataclass(frozen=True)
class Factor:
    label: str
    points: float


@dataclass(frozen=True)
class Message:
    at: datetime
    incoming: bool
    channel: str
    text: str
    status: str | None  # an outgoing message's status (sent, held, suppressed, …)


@dataclass(frozen=True)
class LeadCard:
    lead_id: uuid.UUID
    name: str
    segment: str | None
    stage: str
    score: int | None
    tier: str | None
    top_factors: list[Factor]
    budget: str | None  # as the lead gave it: "INR 300,000.00", or a band
    occasion_dates: dict[str, Any]
    likes: dict[str, list[str]]  # metals, stones, styles and interests she named
    preferences: dict[str, Any]
    asked: list[str]
    messages: list[Message]


@dataclass(frozen=True)
class TaskCard:
    id: uuid.UUID
    kind: str
    reason: str
    priority: str
    status: TaskStatus
    sla_due_at: datetime | None
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    created_at: datetime
    outcome: str | None
    lead: LeadCard

    @property
    def open(self) -> bool:
        return self.status in (TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED)


def _name(lead: Lead) -> str:
    name = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return name or "A lead with no name yet"


def _said(event: Event) -> str | None:
    for key in ("text", "message", "question", "product", "category", "title"):
        value = event.payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _messages(events: list[Event], touches: list[Touch]) -> list[Message]:
    heard = [
        Message(
            event.occurred_at, True, str(event.payload.get("channel") or event.source), text, None
        )
        for event in events
        if event.kind in _FROM_LEAD and (text := _said(event))
    ]
    told = [
        Message(
            touch.sent_at or touch.created_at,
            False,
            touch.channel.value if touch.channel else "—",
            touch.subject or touch.body or touch.template,
            touch.status.value + (f" ({touch.reason})" if touch.reason else ""),
        )
        for touch in touches
        if touch.staff_id is None
    ]
    return sorted(heard + told, key=lambda message: message.at)[-LAST_MESSAGES:]


def _budget(lead: Lead) -> str | None:
    if lead.budget_minor is not None:
        return spoken_money(lead.budget_minor, lead.budget_currency)
    return lead.budget_band


def lead_card(session: Session, lead: Lead) -> LeadCard:
    explanation = lead.score_explanation or {}
    positive = sorted(explanation.get("positive", []), key=lambda row: -float(row.get("points", 0)))
    events = list(EventRepository(session).for_lead(lead.id))
    asked = [text for event in events if event.kind in _ASKED and (text := _said(event))]
    return LeadCard(
        lead_id=lead.id,
        name=_name(lead),
        segment=lead.segment,
        stage=lead.stage.value,
        score=lead.score,
        tier=explanation.get("tier") or lead.priority,
        top_factors=[
            Factor(str(row.get("label") or row.get("name")), float(row.get("points", 0)))
            for row in positive[:TOP_FACTORS]
        ],
        budget=_budget(lead),
        occasion_dates=dict(lead.occasion_dates or {}),
        likes={
            label: list(values)
            for label, values in (
                ("Metals", lead.metals),
                ("Stones", lead.stones),
                ("Style", lead.styles),
                ("Interested in", lead.interests),
            )
            if values
        },
        preferences=dict(lead.attributes or {}),
        asked=asked[-2:],
        messages=_messages(events, list(TouchRepository(session).for_lead(lead.id))),
    )


def _card(session: Session, task: Task, names: dict[uuid.UUID, str]) -> TaskCard:
    return TaskCard(
        id=task.id,
        kind=task.kind.replace("_", " "),
        reason=task.reason,
        priority=task.priority,
        status=task.status,
        sla_due_at=task.sla_due_at,
        assignee_id=task.assignee_id,
        assignee_name=names.get(task.assignee_id) if task.assignee_id else None,
        created_at=task.created_at,
        outcome=task.outcome,
        lead=lead_card(session, session.get_one(Lead, task.lead_id)),
    )


def _names(session: Session, tasks: list[Task]) -> dict[uuid.UUID, str]:
    staff = StaffRepository(session)
    ids = {task.assignee_id for task in tasks if task.assignee_id}
    return {row.id: row.name for row in (staff.get(staff_id) for staff_id in ids) if row}


def inbox(session: Session, actor: Actor, limit: int = 50) -> list[TaskCard]:
    """My open and acknowledged tasks (a manager: the store's), soonest SLA first."""
    tasks = list(tasks_for(session, actor, TaskQuery(limit=limit)))
    names = _names(session, tasks)
    return [_card(session, task, names) for task in tasks]


def task_card(session: Session, task_id: uuid.UUID, actor: Actor) -> TaskCard:
    """One task, if the actor may work it, with its lead's card."""
    task = task_for(session, task_id, actor)
    return _card(session, task, _names(session, [task]))


def staff_names(staff: list[Staff]) -> list[tuple[uuid.UUID, str]]:
    return [(row.id, f"{row.name} ({row.role.value})") for row in staff]
