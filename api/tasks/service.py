"""Tasks for the people who work them: list mine, acknowledge, complete.

Who sees and works which task is the domain's rule (`domain.tasks`): an associate works their
own tasks; a manager every task of their store; an admin every task the key's store scope
allows. The row is written first, then the EscalationTask is told; a completion is also
recorded as a lead event and delivered to the lead's journeys.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.errors import reaching_temporal
from api.tasks.schemas import CompletionIn, TaskChanged, TaskList, TaskView
from core.vocabulary import TaskStatus
from db.session import Database
from domain import tasks
from domain.access import Actor
from domain.effects import Effects, QualifyOrder
from domain.enrollment import active_journeys
from domain.events import happening
from workflows import handles


def list_tasks(
    session: Session,
    actor: Actor,
    *,
    statuses: Sequence[TaskStatus],
    priority: str | None,
    store_id: uuid.UUID | None,
    limit: int,
) -> TaskList:
    rows = tasks.tasks_for(
        session, actor, statuses=statuses, priority=priority, store_id=store_id, limit=limit
    )
    return TaskList(tasks=[TaskView.model_validate(row) for row in rows])


async def acknowledge_task(
    task_id: uuid.UUID, actor: Actor, *, database: Database, temporal: Client
) -> TaskChanged:
    def acknowledge(session: Session) -> TaskChanged:
        task, duplicate = tasks.acknowledge(session, task_id, actor)
        return TaskChanged(task=TaskView.model_validate(task), duplicate=duplicate)

    changed = await run_in_threadpool(database.run, acknowledge)
    async with reaching_temporal(f"task {task_id}"):
        await handles.acknowledge_task(temporal, task_id, actor.staff_id)
    return changed


async def complete_task(
    task_id: uuid.UUID,
    body: CompletionIn,
    actor: Actor,
    *,
    database: Database,
    temporal: Client,
    task_queue: str,
) -> TaskChanged:
    def complete(session: Session) -> tuple[TaskChanged, Effects]:
        done = tasks.complete(session, task_id, body.outcome, body.note, actor)
        event = done.recorded.event
        effects = Effects(qualify=[QualifyOrder(event.lead_id, event.id)])
        effects.deliver(happening(event), active_journeys(session, event.lead_id))
        changed = TaskChanged(
            task=TaskView.model_validate(done.task), duplicate=done.duplicate, event_id=event.id
        )
        return changed, effects

    changed, effects = await run_in_threadpool(database.run, complete)
    async with reaching_temporal(f"task {task_id}"):
        await handles.complete_task(temporal, task_id, actor.staff_id, body.outcome)
        await handles.apply(temporal, task_queue, effects)
    return changed
