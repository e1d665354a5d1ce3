"""Tasks: work for a person — call this lead, answer that question, review a stop request.

`open_task` is the only way a task is born: routed to the right person (`qualification/
routing.py`), given an SLA, and then carried by its EscalationTask workflow (which notifies
the assignee, and reassigns and escalates on a breach). Who may see and work a task is
decided here too, for every door: an associate works their own tasks; a manager, and an
admin, every task of their store.

Times come from the caller (`requested_at`, `now`), so SLAs follow workflow time, also on the
time-skipping test server.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.vocabulary import ApiRole, TaskOutcome, TaskStatus
from db.models import Lead, Staff, Task
from db.repositories import PurchaseRepository, StaffRepository, TaskRepository
from db.types import utcnow
from domain.access import Actor
from domain.errors import (
    Conflict,
    InvalidField,
    NotAllowed,
    OutsideBranch,
    UnknownLead,
    UnknownTask,
)
from domain.events import Recorded, new_event, record_event_once
from qualification.routing import Candidate, RoutingChoice, RoutingRequest, route
from sequences.vocabulary import EventKind, Priority, StaffRole, WorkPurpose

CLOSED = (TaskStatus.COMPLETED, TaskStatus.CANCELLED)


@dataclass(frozen=True)
class TaskOpened:
    task_id: uuid.UUID
    lead_id: uuid.UUID
    created: bool
    status: TaskStatus
    assignee_id: uuid.UUID | None
    sla_due_at: datetime | None


@dataclass(frozen=True)
class EscalationToStart:
    """A new task's EscalationTask workflow, for the door to start after the commit."""

    task_id: uuid.UUID
    lead_id: uuid.UUID
    sla: timedelta
    sla_due_at: datetime | None
    assignee_id: uuid.UUID | None


def conversion_rate(sales: int, completed: int) -> float:
    """Sales per completed task, smoothed towards 20% so one lucky sale does not dominate."""
    return (sales + 1) / (completed + 5)


def candidates(session: Session, store_id: uuid.UUID) -> list[Candidate]:
    """The store's people as routing sees them: role, languages, load and results."""
    tasks = TaskRepository(session)
    open_counts = tasks.open_counts(store_id)
    completed = tasks.completed_counts(store_id)
    sales = PurchaseRepository(session).sales_by_associate(store_id)
    return [
        Candidate(
            staff_id=staff.id,
            role=staff.role,
            languages=tuple(staff.languages or ()),
            active=staff.active,
            open_tasks=open_counts.get(staff.id, 0),
            capacity=staff.capacity,
            conversion_rate=conversion_rate(sales.get(staff.id, 0), completed.get(staff.id, 0)),
        )
        for staff in StaffRepository(session).for_store(store_id)
    ]


def note(task: Task, entry: dict[str, Any]) -> None:
    """Add an entry to the task's history (a new list, so the JSON column sees the change)."""
    task.history = [*task.history, entry]


def _opened(task: Task, created: bool) -> TaskOpened:
    return TaskOpened(
        task_id=task.id,
        lead_id=task.lead_id,
        created=created,
        status=task.status,
        assignee_id=task.assignee_id,
        sla_due_at=task.sla_due_at,
    )


def _assign(task: Task, choice: RoutingChoice, due: datetime, at: datetime, why: str) -> None:
    task.assignee_id = choice.staff_id
    task.routing_reason = choice.reason
    task.sla_due_at = due
    note(
        task,
        {
            "at": at.isoformat(),
            "event": why,
            "assignee_id": str(choice.staff_id) if choice.staff_id else None,
            "reason": choice.reason,
        },
    )


def open_task(
    session: Session,
    *,
    lead_id: uuid.UUID,
    kind: str,
    role_needed: StaffRole,
    reason: str,
    priority: Priority,
    sla: timedelta,
    idempotency_key: str,
    requested_at: datetime,
    reuse_open: bool = True,
    purpose: WorkPurpose = WorkPurpose.SALES,
) -> TaskOpened:
    """Open the task once (a retry with the same key returns the same task), routed to the
    right person. `reuse_open`: a lead with an open task of this kind for this role gets that
    one back instead of a second."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise UnknownLead(lead_id)
    tasks = TaskRepository(session)
    if reuse_open:
        existing = tasks.open_of_kind(lead.id, kind, role_needed)
        if existing is not None and existing.idempotency_key != idempotency_key:
            return _opened(existing, created=False)
    task, created = tasks.open_idempotent(
        Task(
            store_id=lead.store_id,
            lead_id=lead.id,
            kind=kind,
            role_needed=role_needed,
            reason=reason,
            priority=priority.value,
            purpose=purpose,
            idempotency_key=idempotency_key,
            created_at=requested_at,
        )
    )
    if created:
        choice = route(
            RoutingRequest(
                role_needed=role_needed,
                language=lead.language,
                owner_id=lead.owner_id,
                last_associate_id=tasks.last_associate(lead.id),
            ),
            candidates(session, lead.store_id),
        )
        _assign(task, choice, requested_at + sla, requested_at, "assigned")
        assignee = session.get(Staff, choice.staff_id) if choice.staff_id else None
        if lead.owner_id is None and assignee and assignee.role is StaffRole.ASSOCIATE:
            lead.owner_id = assignee.id
        session.flush()
    return _opened(task, created)


def escalation(opened: TaskOpened, sla: timedelta) -> EscalationToStart | None:
    """The EscalationTask a door starts for a task it opened; None for a task that was
    already there (its workflow runs) or is closed."""
    if not opened.created or opened.status in CLOSED:
        return None
    return EscalationToStart(
        task_id=opened.task_id,
        lead_id=opened.lead_id,
        sla=sla,
        sla_due_at=opened.sla_due_at,
        assignee_id=opened.assignee_id,
    )


@dataclass(frozen=True)
class TaskAssigned:
    still_open: bool
    status: TaskStatus
    assignee_id: uuid.UUID | None
    sla_due_at: datetime | None
    routing_reason: str | None


def _assigned(task: Task) -> TaskAssigned:
    return TaskAssigned(
        still_open=task.status is TaskStatus.OPEN,
        status=task.status,
        assignee_id=task.assignee_id,
        sla_due_at=task.sla_due_at,
        routing_reason=task.routing_reason,
    )


def reassign(
    session: Session, *, task_id: uuid.UUID, breach: int, now: datetime, sla_due_at: datetime
) -> TaskAssigned:
    """After an SLA breach: the next candidate (first breach) or the store manager."""
    task = session.get(Task, task_id)
    if task is None:
        raise UnknownTask(task_id)
    done = [h for h in task.history if h.get("breach") == breach]
    if task.status is not TaskStatus.OPEN or done:
        return _assigned(task)
    lead = session.get_one(Lead, task.lead_id)
    tried = {uuid.UUID(h["assignee_id"]) for h in task.history if h.get("assignee_id")}
    role = task.role_needed if breach < 2 else StaffRole.MANAGER
    choice = route(
        RoutingRequest(role_needed=role, language=lead.language, exclude=frozenset(tried)),
        candidates(session, task.store_id),
    )
    if breach >= 2 and choice.staff_id is None:
        choice = route(RoutingRequest(role_needed=role), candidates(session, task.store_id))
    if choice.staff_id is None:
        choice = RoutingChoice(
            task.assignee_id, f"{choice.reason}; stays with the current assignee"
        )
    _assign(task, choice, sla_due_at, now, f"sla breach {breach}: reassigned")
    task.history[-1]["breach"] = breach
    session.flush()
    return _assigned(task)


def cancel_open_tasks(
    session: Session,
    lead_id: uuid.UUID,
    *,
    at: datetime,
    why: str,
    cause: str,
    purpose: WorkPurpose | None = None,
) -> list[Task]:
    """Cancel the lead's open and acknowledged tasks (of `purpose` only, when given) because
    of `cause` (an event id): the lead bought or opted out, which ends sales work and leaves
    service work (a custom order's CAD, pickup) open. Returns every task `cause` cancelled,
    also when called again for it (a retry)."""
    tasks = TaskRepository(session)
    for task in tasks.for_lead(lead_id, open_only=True):
        if purpose is not None and task.purpose is not purpose:
            continue
        task.status = TaskStatus.CANCELLED
        note(task, {"at": at.isoformat(), "event": "cancelled", "reason": why, "cause": cause})
    session.flush()
    return [
        task
        for task in tasks.for_lead(lead_id)
        if task.status is TaskStatus.CANCELLED
        and any(entry.get("cause") == cause for entry in task.history)
    ]


# --- who works a task -------------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    """The person behind an actor, as tasks see them."""

    staff_id: uuid.UUID | None
    store_id: uuid.UUID | None
    sees_whole_store: bool  # a manager or an admin


def worker(session: Session, actor: Actor) -> Worker:
    if actor.role is ApiRole.ADMIN:
        return Worker(actor.staff_id, actor.store_id, True)
    if actor.staff_id is None:
        raise NotAllowed("this key is not bound to a staff member; ask an admin for a personal key")
    staff = session.get(Staff, actor.staff_id)
    if staff is None or not staff.active:
        raise NotAllowed("the staff member this key belongs to is not active")
    if staff.role is StaffRole.MANAGER and actor.all_branches:
        return Worker(staff.id, None, True)
    return Worker(staff.id, staff.store_id, staff.role is StaffRole.MANAGER)


@dataclass(frozen=True)
class TaskQuery:
    """Which tasks to list: by status (open and acknowledged by default), priority, store."""

    statuses: Sequence[TaskStatus] = (TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED)
    priority: Priority | None = None
    store_id: uuid.UUID | None = None
    limit: int = 100


def tasks_for(session: Session, actor: Actor, query: TaskQuery) -> Sequence[Task]:
    """My tasks (a manager: the store's), soonest SLA first."""
    me = worker(session, actor)
    if query.store_id is not None and me.store_id is not None and query.store_id != me.store_id:
        raise NotAllowed("this key is limited to another store")
    return TaskRepository(session).search(
        store_id=me.store_id or query.store_id,
        assignee_id=None if me.sees_whole_store else me.staff_id,
        statuses=query.statuses,
        priority=query.priority.value if query.priority else None,
        limit=query.limit,
    )


def task_for(session: Session, task_id: uuid.UUID, actor: Actor) -> Task:
    """The task, if the actor may work it."""
    me = worker(session, actor)
    task = TaskRepository(session).get(task_id)
    if task is None:
        raise UnknownTask(task_id)
    if me.store_id is not None and task.store_id != me.store_id:
        raise OutsideBranch("this task belongs to a store your key cannot see")
    if not me.sees_whole_store and task.assignee_id != me.staff_id:
        raise NotAllowed("this task is assigned to someone else; only they or a manager may act")
    return task


def _by(actor: Actor, event: str, **extra: object) -> dict[str, Any]:
    return {"at": utcnow().isoformat(), "event": event, "by_key": str(actor.key_id), **extra}


def acknowledge(session: Session, task_id: uuid.UUID, actor: Actor) -> tuple[Task, bool]:
    """Take the task (its SLA stops escalating it). Returns (task, acknowledged before)."""
    task = task_for(session, task_id, actor)
    if task.status in CLOSED:
        raise Conflict(f"task {task_id} is already {task.status.value}")
    duplicate = task.status is TaskStatus.ACKNOWLEDGED
    if not duplicate:
        task.status = TaskStatus.ACKNOWLEDGED
        task.acknowledged_at = utcnow()
        note(task, _by(actor, "acknowledged"))
        session.flush()
    return task, duplicate


@dataclass(frozen=True)
class Completed:
    task: Task
    duplicate: bool
    recorded: Recorded  # the outcome, as the lead's event


def _outcome_kind(outcome: TaskOutcome) -> EventKind:
    if outcome is TaskOutcome.APPOINTMENT_BOOKED:
        return EventKind.APPOINTMENT_BOOKED
    return EventKind.TASK_COMPLETED


def complete(
    session: Session, task_id: uuid.UUID, outcome: TaskOutcome, note_text: str | None, actor: Actor
) -> Completed:
    """Close the task with its outcome, which becomes an event of the lead's (once)."""
    task = task_for(session, task_id, actor)
    duplicate = task.status is TaskStatus.COMPLETED
    if duplicate and task.outcome != outcome.value:
        raise Conflict(f"task {task_id} was already completed as {task.outcome!r}")
    if task.status is TaskStatus.CANCELLED:
        raise Conflict(f"task {task_id} was cancelled")
    now = utcnow()
    recorded = record_event_once(
        session,
        new_event(
            store_id=task.store_id,
            lead_id=task.lead_id,
            key=f"task:{task.id}:completed",
            kind=_outcome_kind(outcome),
            source="task",
            payload={
                "task_id": str(task.id),
                "task_kind": task.kind,
                "outcome": outcome.value,
                **({"text": note_text} if note_text else {}),
            },
            occurred_at=now,
        ),
    )
    if recorded.new:
        task.status = TaskStatus.COMPLETED
        task.outcome = outcome.value
        task.completed_at = now
        note(task, _by(actor, "completed", outcome=outcome.value))
        session.flush()
    return Completed(task, duplicate, recorded)


# --- giving a task to someone else ------------------------------------------------------------


def _still_open(task: Task) -> None:
    if task.status in CLOSED:
        raise Conflict(f"task {task.id} is already {task.status.value}")


_HANDOVERS = ("handed back", "reassigned by a manager")


@dataclass(frozen=True)
class HandedOver:
    """The task's new assignee, and which hand-over this is (1, 2, …): the EscalationTask
    notifies them once per hand-over."""

    assignee_id: uuid.UUID
    handover: int


def _handed(task: Task, to: uuid.UUID, reason: str, event: dict[str, Any]) -> HandedOver:
    task.assignee_id = to
    task.routing_reason = reason
    task.status = TaskStatus.OPEN
    task.acknowledged_at = None
    note(task, {**event, "assignee_id": str(to), "reason": reason})
    handovers = sum(1 for entry in task.history if entry.get("event") in _HANDOVERS)
    return HandedOver(to, handovers)


def hand_back(session: Session, task_id: uuid.UUID, actor: Actor) -> HandedOver:
    """The assignee cannot take it: routing picks someone else of the role (never anyone who
    had it before), else the store's manager. The SLA keeps its due time."""
    task = task_for(session, task_id, actor)
    _still_open(task)
    lead = session.get_one(Lead, task.lead_id)
    tried = {uuid.UUID(h["assignee_id"]) for h in task.history if h.get("assignee_id")}
    people = candidates(session, task.store_id)
    choice = route(
        RoutingRequest(
            role_needed=task.role_needed, language=lead.language, exclude=frozenset(tried)
        ),
        people,
    )
    if choice.staff_id is None:
        choice = route(
            RoutingRequest(
                role_needed=StaffRole.MANAGER,
                exclude=frozenset({task.assignee_id} if task.assignee_id else ()),
            ),
            people,
        )
    if choice.staff_id is None:
        raise Conflict("nobody else can take this task; ask your manager")
    handed = _handed(task, choice.staff_id, choice.reason, _by(actor, "handed back"))
    session.flush()
    return handed


def reassign_to(
    session: Session, task_id: uuid.UUID, staff_id: uuid.UUID, actor: Actor
) -> HandedOver:
    """A manager (or an admin) gives the task to a person of the task's store."""
    me = worker(session, actor)
    if not me.sees_whole_store:
        raise NotAllowed("only a manager or an admin may reassign a task")
    task = task_for(session, task_id, actor)
    _still_open(task)
    staff = session.get(Staff, staff_id)
    if staff is None or staff.store_id != task.store_id or not staff.active:
        raise InvalidField("staff_id", "choose an active person of this task's branch")
    handed = _handed(
        task, staff.id, f"reassigned by {actor.name}", _by(actor, "reassigned by a manager")
    )
    session.flush()
    return handed


def colleagues(session: Session, task_id: uuid.UUID, actor: Actor) -> list[Staff]:
    """Whom a manager may give the task to: the active people of its branch."""
    task = task_for(session, task_id, actor)
    return [staff for staff in StaffRepository(session).for_store(task.store_id) if staff.active]
