"""Tasks in the domain: a purchase or an opt-out ends the lead's open tasks, once per cause."""

from __future__ import annotations

import uuid

from core.vocabulary import TaskStatus
from db.models import Task
from db.repositories import TaskRepository
from db.session import Database
from db.types import utcnow
from domain.tasks import cancel_open_tasks
from sequences.vocabulary import StaffRole
from tests.factories import make_lead


def test_cancelling_a_leads_tasks_again_for_the_same_cause_returns_the_same_tasks(
    database: Database, store
):
    lead_id = make_lead(database, store)

    def open_tasks(session) -> list[uuid.UUID]:
        tasks = TaskRepository(session)
        made = [
            tasks.open_idempotent(
                Task(
                    store_id=store.id,
                    lead_id=lead_id,
                    kind=kind,
                    role_needed=StaffRole.ASSOCIATE,
                    reason="test",
                    idempotency_key=f"test:{uuid.uuid4()}",
                )
            )[0]
            for kind in ("hot_lead", "answer_reply", "re_engage")
        ]
        made[2].status = TaskStatus.COMPLETED
        return [task.id for task in made]

    hot, reply, done = database.run(open_tasks)

    def cancel(cause: str):
        return lambda session: sorted(
            task.id
            for task in cancel_open_tasks(
                session, lead_id, at=utcnow(), why="the lead purchase", cause=cause
            )
        )

    first = database.run(cancel("purchase-1"))
    assert first == sorted([hot, reply])
    assert database.run(cancel("purchase-1")) == first  # a retry: the same tasks, nothing more
    assert database.run(cancel("opt-out-2")) == []  # a later event finds nothing open
    statuses = database.run(lambda s: {t.id: t.status for t in TaskRepository(s).for_lead(lead_id)})
    assert statuses == {
        hot: TaskStatus.CANCELLED,
        reply: TaskStatus.CANCELLED,
        done: TaskStatus.COMPLETED,
    }
