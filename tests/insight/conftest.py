"""A store with a seeded history, for the registry and question tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from db.models import Staff
from db.session import Database
from scripts.insight_seed import Seeded, seed_activity
from tests.conftest import new_store

# "Today" of the seeded tests: Thu 26 Nov 2026, 15:00 in Bengaluru.
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
SEED_START = datetime(2026, 8, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SeededStore:
    store_id: uuid.UUID
    staff_ids: list[uuid.UUID]
    seeded: Seeded


def seed_store(
    database: Database,
    *,
    leads: int = 400,
    seed: int = 17,
    start: datetime = SEED_START,
    days: int = 118,
) -> SeededStore:
    """A new store (Asia/Kolkata) with `leads` leads over `days` days from `start` (by
    default Aug–Nov 2026) and their history."""

    def work(session):
        store = new_store(session)
        session.flush()
        staff_ids = list(
            session.scalars(select(Staff.id).where(Staff.store_id == store.id).order_by(Staff.name))
        )
        seeded = seed_activity(
            session.connection(), store.id, staff_ids,
            start=start, days=days, leads=leads, seed=seed,
        )  # fmt: skip
        return SeededStore(store.id, staff_ids, seeded)

    return database.run(work)


@pytest.fixture
def seeded_store(database: Database) -> SeededStore:
    return seed_store(database)
