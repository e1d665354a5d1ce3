"""Tasks for console tests, opened through the domain as a journey or qualification would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from db.models import Store, Task
from db.session import Database
from domain import tasks
from sequences.vocabulary import Priority, StaffRole
from tests.factories import make_lead


def open_task(
    database: Database,
    store: Store,
    *,
    role: StaffRole = StaffRole.ASSOCIATE,
    reason: str = "Asked about a 1 carat solitaire; call her back",
    lead_id: uuid.UUID | None = None,
    sla: timedelta = timedelta(hours=4),
) -> uuid.UUID:
    lead = lead_id or make_lead(database, store)
    opened = database.run(
        lambda session: tasks.open_task(
            session,
            lead_id=lead,
            kind="call_back",
            role_needed=role,
            reason=reason,
            priority=Priority.HOT,
            sla=sla,
            idempotency_key=f"test:{uuid.uuid4()}",
            requested_at=datetime.now(UTC),
            reuse_open=False,
        )
    )
    return opened.task_id


def task_row(database: Database, task_id: uuid.UUID) -> Task:
    return database.read(lambda session: session.get_one(Task, task_id))
