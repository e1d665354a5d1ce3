"""A branch's leads and everything recorded of them, read in one unit of work, for tests that
count a metric by hand."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from db.models import Enrollment, Event, Lead, Purchase, Task, Touch
from db.session import Database


@dataclass(frozen=True)
class BranchRows:
    leads: list[Lead]
    touches: list[Touch]
    tasks: list[Task]
    purchases: list[Purchase]
    events: list[Event]
    enrollments: list[Enrollment]


def branch_rows(database: Database, store_id: uuid.UUID) -> BranchRows:
    def read(session: Any) -> BranchRows:
        leads = list(session.scalars(select(Lead).where(Lead.store_id == store_id)))
        ids = [lead.id for lead in leads]

        def of(model: Any) -> list[Any]:
            return list(session.scalars(select(model).where(model.lead_id.in_(ids))))

        return BranchRows(leads, of(Touch), of(Task), of(Purchase), of(Event), of(Enrollment))

    return database.read(read)
