"""Routes for tasks: my inbox, acknowledge, complete."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from api.auth import require_roles
from api.deps import BackendDep, DatabaseDep
from api.tasks import service
from api.tasks.schemas import CompletionIn, TaskChanged, TaskList
from core.vocabulary import ApiRole, TaskStatus
from domain.access import Actor
from domain.tasks import TaskQuery
from sequences.vocabulary import Priority

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

Worker = Annotated[Actor, Depends(require_roles(ApiRole.ASSOCIATE))]

_problems: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or unknown API key"},
    403: {"description": "Not your task, not your store, or a key without a staff member"},
}
_changes: dict[int | str, dict[str, str]] = {
    404: {"description": "No such task"},
    409: {"description": "The task is already closed (or completed with another outcome)"},
    **_problems,
}


@router.get("", responses=_problems)
async def list_tasks(
    principal: Worker,
    database: DatabaseDep,
    task_status: Annotated[list[TaskStatus] | None, Query(alias="status")] = None,
    priority: Priority | None = None,
    store_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TaskList:
    """My tasks (a manager: the store's), soonest SLA first; open and acknowledged by default."""
    query = TaskQuery(priority=priority, store_id=store_id, limit=limit)
    if task_status:
        query = replace(query, statuses=task_status)
    return await run_in_threadpool(
        database.read, lambda session: service.list_tasks(session, principal, query)
    )


@router.post("/{task_id}/acknowledge", responses=_changes)
async def acknowledge(task_id: uuid.UUID, principal: Worker, backend: BackendDep) -> TaskChanged:
    """Take the task: its SLA stops escalating it."""
    return await service.acknowledge_task(task_id, principal, backend)


@router.post("/{task_id}/complete", responses=_changes)
async def complete(
    task_id: uuid.UUID,
    body: CompletionIn,
    response: Response,
    principal: Worker,
    backend: BackendDep,
) -> TaskChanged:
    """Close the task with its outcome; the outcome reaches the lead's timeline and journeys."""
    result = await service.complete_task(task_id, body, principal, backend)
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result
