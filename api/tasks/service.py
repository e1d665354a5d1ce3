"""Tasks for the people who work them: list mine, acknowledge, complete.

An associate's key is bound to a staff member (`Principal.staff_id`): they see and act on their
own tasks. A manager's key sees and acts on every task of their store; an admin's on every task
the key's store scope allows. The row is written first, then the EscalationTask is signalled;
a completion is also recorded as a lead event and delivered to the lead's journeys.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api import journeys, qualification
from api.auth import Principal
from api.errors import conflict, forbidden, not_found, unavailable
from api.tasks.schemas import CompletionIn, TaskChanged, TaskList, TaskView
from core.vocabulary import ApiRole, TaskOutcome, TaskStatus
from core.workflow_ids import task_workflow_id
from db.models import Event, Staff, Task
from db.repositories import EnrollmentRepository, EventRepository, TaskRepository
from db.session import Database
from db.types import utcnow
from sequences.vocabulary import EventKind, StaffRole
from workflows.escalation import Acknowledgement, Completion, EscalationTask
from workflows.journey import JourneyEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Actor:
    staff_id: uuid.UUID | None
    store_id: uuid.UUID | None
    sees_whole_store: bool  # a manager or an admin


def _actor(session: Session, principal: Principal) -> _Actor:
    if principal.role is ApiRole.ADMIN:
        return _Actor(principal.staff_id, principal.store_id, True)
    if principal.staff_id is None:
        raise forbidden("this key is not bound to a staff member; ask an admin for a personal key")
    staff = session.get(Staff, principal.staff_id)
    if staff is None or not staff.active:
        raise forbidden("the staff member this key belongs to is not active")
    return _Actor(staff.id, staff.store_id, staff.role is StaffRole.MANAGER)


def list_tasks(
    session: Session,
    principal: Principal,
    *,
    statuses: Sequence[TaskStatus],
    priority: str | None,
    store_id: uuid.UUID | None,
    limit: int,
) -> TaskList:
    actor = _actor(session, principal)
    if store_id is not None and actor.store_id is not None and store_id != actor.store_id:
        raise forbidden("this key is limited to another store")
    rows = TaskRepository(session).search(
        store_id=actor.store_id or store_id,
        assignee_id=None if actor.sees_whole_store else actor.staff_id,
        statuses=statuses,
        priority=priority,
        limit=limit,
    )
    return TaskList(tasks=[TaskView.model_validate(row) for row in rows])


def _task_for(session: Session, task_id: uuid.UUID, principal: Principal) -> Task:
    actor = _actor(session, principal)
    task = TaskRepository(session).get(task_id)
    if task is None:
        raise not_found(f"task {task_id}")
    if actor.store_id is not None and task.store_id != actor.store_id:
        raise forbidden("this task belongs to a store your key cannot see")
    if not actor.sees_whole_store and task.assignee_id != actor.staff_id:
        raise forbidden("this task is assigned to someone else; only they or a manager may act")
    return task


def _history(task: Task, event: str, principal: Principal, **extra: object) -> None:
    entry = {"at": utcnow().isoformat(), "event": event, "by_key": str(principal.key_id), **extra}
    task.history = [*task.history, entry]


def acknowledge(session: Session, task_id: uuid.UUID, principal: Principal) -> TaskChanged:
    task = _task_for(session, task_id, principal)
    if task.status is TaskStatus.COMPLETED or task.status is TaskStatus.CANCELLED:
        raise conflict(f"task {task_id} is already {task.status.value}")
    duplicate = task.status is TaskStatus.ACKNOWLEDGED
    if not duplicate:
        task.status = TaskStatus.ACKNOWLEDGED
        task.acknowledged_at = utcnow()
        _history(task, "acknowledged", principal)
        session.flush()
    return TaskChanged(task=TaskView.model_validate(task), duplicate=duplicate)


@dataclass(frozen=True)
class _Completed:
    changed: TaskChanged
    event: JourneyEvent
    journeys: list[str]


def _outcome_kind(outcome: TaskOutcome) -> EventKind:
    return (
        EventKind.APPOINTMENT_BOOKED
        if outcome is TaskOutcome.APPOINTMENT_BOOKED
        else (EventKind.TASK_COMPLETED)
    )


def complete(
    session: Session, task_id: uuid.UUID, body: CompletionIn, principal: Principal
) -> _Completed:
    task = _task_for(session, task_id, principal)
    events = EventRepository(session)
    key = f"task:{task.id}:completed"
    duplicate = task.status is TaskStatus.COMPLETED
    if duplicate and task.outcome != body.outcome.value:
        raise conflict(f"task {task_id} was already completed as {task.outcome!r}")
    if task.status is TaskStatus.CANCELLED:
        raise conflict(f"task {task_id} was cancelled")
    event = events.by_key(task.store_id, key)
    if event is None:
        now = utcnow()
        task.status = TaskStatus.COMPLETED
        task.outcome = body.outcome.value
        task.completed_at = now
        _history(task, "completed", principal, outcome=body.outcome.value)
        event = events.add(
            Event(
                store_id=task.store_id,
                lead_id=task.lead_id,
                kind=_outcome_kind(body.outcome).value,
                source="task",
                payload={
                    "task_id": str(task.id),
                    "task_kind": task.kind,
                    "outcome": body.outcome.value,
                    **({"text": body.note} if body.note else {}),
                },
                occurred_at=now,
                idempotency_key=key,
            )
        )
    active = [e.workflow_id for e in EnrollmentRepository(session).active_for_lead(task.lead_id)]
    return _Completed(
        TaskChanged(task=TaskView.model_validate(task), duplicate=duplicate, event_id=event.id),
        JourneyEvent(event_id=event.id, kind=EventKind(event.kind), occurred_at=event.occurred_at),
        active,
    )


async def _signal(client: Client, task_id: uuid.UUID, name: str, arg: object) -> None:
    handle: WorkflowHandle[EscalationTask, object] = client.get_workflow_handle(
        task_workflow_id(task_id)
    )
    try:
        await handle.signal(name, arg)
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
        log.info("task %s has no running workflow; %s not signalled", task_id, name)


async def acknowledge_task(
    task_id: uuid.UUID, principal: Principal, *, database: Database, temporal: Client
) -> TaskChanged:
    changed = await run_in_threadpool(
        database.run, lambda session: acknowledge(session, task_id, principal)
    )
    try:
        await _signal(
            temporal, task_id, "acknowledge", Acknowledgement(staff_id=principal.staff_id)
        )
    except RPCError as error:
        raise unavailable(
            f"task saved but its workflow could not be reached ({error.message})"
        ) from error
    return changed


async def complete_task(
    task_id: uuid.UUID,
    body: CompletionIn,
    principal: Principal,
    *,
    database: Database,
    temporal: Client,
    task_queue: str,
) -> TaskChanged:
    done = await run_in_threadpool(
        database.run, lambda session: complete(session, task_id, body, principal)
    )
    try:
        await _signal(
            temporal,
            task_id,
            "complete",
            Completion(staff_id=principal.staff_id, outcome=body.outcome),
        )
        await journeys.deliver(temporal, done.journeys, done.event)
        await qualification.qualify(
            temporal,
            task_queue=task_queue,
            lead_id=done.changed.task.lead_id,
            event_id=done.event.event_id,
        )
    except RPCError as error:
        raise unavailable(
            f"task saved but its workflow or journeys could not be reached ({error.message}); "
            "send the same request again"
        ) from error
    return done.changed
