"""Tasks for people: routed, SLA-timed, with their history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq

from sqlalchemy import func, select

from core.vocabulary import TaskStatus
from db.models import Staff, Task
from db.repositories.base import Repository
from sequences.vocabulary import StaffRole

OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED)


class TaskRepository(Repository[Task]):
    model = Task

    def open_idempotent(self, task: Task) -> tuple[Task, bool]:
        """Insert the task unless its idempotency key exists. Returns (row, newly created)."""
        task.status = task.status or TaskStatus.OPEN
        task.history = task.history or []
        task.priority = task.priority or "warm"
        return self.insert_once(task, Task.idempotency_key)

    def open_of_kind(self, lead_id: uuid.UUID, kind: str, role: StaffRole) -> Task | None:
        return self.session.scalars(
            select(Task)
            .where(
                Task.lead_id == lead_id,
                Task.kind == kind,
                Task.role_needed == role,
                Task.status.in_(OPEN_TASK_STATUSES),
            )
            .order_by(Task.created_at)
        ).first()

    def for_lead(self, lead_id: uuid.UUID, *, open_only: bool = False) -> Seq[Task]:
        query = select(Task).where(Task.lead_id == lead_id)
        if open_only:
            query = query.where(Task.status.in_(OPEN_TASK_STATUSES))
        return self.session.scalars(query.order_by(Task.created_at, Task.id)).all()

    def search(
        self,
        *,
        store_id: uuid.UUID | None,
        assignee_id: uuid.UUID | None,
        statuses: Seq[TaskStatus],
        priority: str | None,
        limit: int,
    ) -> Seq[Task]:
        """Tasks by SLA due time (soonest first), filtered as given."""
        query = select(Task).where(Task.status.in_(statuses))
        if store_id is not None:
            query = query.where(Task.store_id == store_id)
        if assignee_id is not None:
            query = query.where(Task.assignee_id == assignee_id)
        if priority is not None:
            query = query.where(Task.priority == priority)
        order = (Task.sla_due_at.is_(None), Task.sla_due_at, Task.created_at, Task.id)
        return self.session.scalars(query.order_by(*order).limit(limit)).all()

    def open_counts(self, store_id: uuid.UUID) -> dict[uuid.UUID, int]:
        rows = self.session.execute(
            select(Task.assignee_id, func.count())
            .where(Task.store_id == store_id, Task.status.in_(OPEN_TASK_STATUSES))
            .group_by(Task.assignee_id)
        ).all()
        return {staff_id: count for staff_id, count in rows if staff_id is not None}

    def completed_counts(self, store_id: uuid.UUID) -> dict[uuid.UUID, int]:
        rows = self.session.execute(
            select(Task.assignee_id, func.count())
            .where(Task.store_id == store_id, Task.status == TaskStatus.COMPLETED)
            .group_by(Task.assignee_id)
        ).all()
        return {staff_id: count for staff_id, count in rows if staff_id is not None}

    def last_associate(self, lead_id: uuid.UUID) -> uuid.UUID | None:
        """The associate who most recently had one of the lead's tasks."""
        return self.session.scalar(
            select(Task.assignee_id)
            .join(Staff, Staff.id == Task.assignee_id)
            .where(Task.lead_id == lead_id, Staff.role == StaffRole.ASSOCIATE)
            .order_by(Task.created_at.desc())
            .limit(1)
        )
