"""Tasks for the people who work them: list mine, acknowledge, complete.

Who sees and works which task is the domain's rule (`domain.tasks`): an associate works their
own tasks; a manager every task of their store; an admin every task the key's store scope
allows. The row is written first, then the EscalationTask is told; a completion is also
recorded as a lead event and delivered to the lead's journeys.
"""

from __future__ import annotations

import uuid

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.deps import Backend
from api.errors import reaching_temporal
from api.tasks.schemas import CompletionIn, TaskChanged, TaskList, TaskView
from domain import tasks
from domain.access import Actor
from domain.effects import Effects, of_completion
from workflows import handles


def list_tasks(session: Session, actor: Actor, query: tasks.TaskQuery) -> TaskList:
    return TaskList(
        tasks=[TaskView.model_validate(row) for row in tasks.tasks_for(session, actor, query)]
    )


async def acknowledge_task(task_id: uuid.UUID, actor: Actor, backend: Backend) -> TaskChanged:
    def acknowledge(session: Session) -> TaskChanged:
        task, duplicate = tasks.acknowledge(session, task_id, actor)
        return TaskChanged(task=TaskView.model_validate(task), duplicate=duplicate)

    changed = await run_in_threadpool(backend.database.run, acknowledge)
    async with reaching_temporal(f"task {task_id}"):
        await handles.acknowledge_task(backend.temporal, task_id, actor.staff_id)
    return changed


async def complete_task(
    task_id: uuid.UUID, body: CompletionIn, actor: Actor, backend: Backend
) -> TaskChanged:
    def complete(session: Session) -> tuple[TaskChanged, Effects]:
        done = tasks.complete(session, task_id, body.outcome, body.note, actor)
        changed = TaskChanged(
            task=TaskView.model_validate(done.task),
            duplicate=done.duplicate,
            event_id=done.recorded.event.id,
        )
        return changed, of_completion(session, done)

    changed, effects = await run_in_threadpool(backend.database.run, complete)
    async with reaching_temporal(f"task {task_id}"):
        await handles.complete_task(backend.temporal, task_id, actor.staff_id, body.outcome)
    await backend.tell_temporal(effects, saved=f"task {task_id}")
    return changed
