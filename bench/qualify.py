"""Qualification figures for `make bench` (bench/bench.py calls these).

Named `qualify.py`, not `qualification.py`: a script run from bench/ would otherwise import
this file in place of the `qualification` package.

- `measure_rescore(n)`: the nightly rescoring path over a temporary SQLite file — n leads with
  five events each are written first (not timed); then `domain.scoring.rescore` reads their
  facts in pages, scores them with the rules and writes every score and explanation back.
- `measure_hot_event_to_task(...)`: against a running stack, post hard-trigger events through
  the HTTP API and time each from the request to its Task row existing in the database.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, insert, select

from db.instants import recount_where
from db.migrate import migrate
from db.models import Event, Lead, Store, Task
from db.session import Database
from db.types import utcnow
from domain.reference import Reference
from domain.scoring import rescore
from qualification.config import QualificationConfig

KINDS = ["product_view", "category_view", "email_opened", "store_visit", "reply", "question"]


def _seed(database: Database, n: int) -> None:
    now = utcnow()
    rng = random.Random(5)
    store_id = uuid.uuid4()

    def add_store(session: Any) -> None:
        session.add(
            Store(id=store_id, name="Bench", timezone="Asia/Kolkata", country="IN", currency="INR")
        )

    database.run(add_store)
    for start in range(0, n, 10_000):
        leads, events = [], []
        for _ in range(start, min(start + 10_000, n)):
            lead_id = uuid.uuid4()
            created = now - timedelta(days=rng.uniform(0, 120))
            leads.append(
                {
                    "id": lead_id, "store_id": store_id, "source": "web_form",
                    "created_at": created, "updated_at": created, "stage": "interest",
                    "score_explanation": {}, "occasion_dates": {}, "attributes": {},
                    "budget_band": rng.choice([None, "mid", "high"]),
                }
            )  # fmt: skip
            for _ in range(5):
                at = created + timedelta(days=rng.uniform(0, 30))
                events.append(
                    {
                        "id": uuid.uuid4(), "store_id": store_id, "lead_id": lead_id,
                        "kind": rng.choice(KINDS), "source": "bench", "payload": {},
                        "occurred_at": min(at, now), "recorded_at": now,
                        "idempotency_key": str(uuid.uuid4()),
                    }
                )  # fmt: skip

        def write(session: Any, leads: Any = leads, events: Any = events) -> None:
            session.execute(insert(Lead), leads)
            session.execute(insert(Event), events)

        database.run(write)
    # raw rows: the leads' kept instants are counted from them here
    database.run(lambda session: recount_where(session.connection(), Lead.store_id == store_id))


def measure_rescore(n: int = 100_000) -> dict[str, float]:
    """Seconds to rescore n leads (5 events each) through the nightly path, temporary SQLite."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate(url)
        database = Database(url)
        try:
            _seed(database, n)
            started = time.perf_counter()
            count = rescore(database, Reference(), QualificationConfig(), utcnow())
            elapsed = time.perf_counter() - started
        finally:
            database.dispose()
    assert count == n, f"rescored {count} of {n} leads"
    return {"rescore_100k_s" if n == 100_000 else f"rescore_{n}_s": round(elapsed, 2)}


def _task_for(engine: Engine, lead_id: uuid.UUID) -> uuid.UUID | None:
    """A plain SELECT (no BEGIN IMMEDIATE, unlike db.session): polling takes no write lock."""
    with engine.connect() as connection:
        task_id: uuid.UUID | None = connection.scalar(
            select(Task.id).where(Task.lead_id == lead_id)
        )
    return task_id


async def measure_hot_event_to_task(
    base_url: str, api_key: str, store_id: str, database_url: str, n: int = 50
) -> dict[str, float]:
    """p50/p95 seconds from posting a hard-trigger event to its Task row existing."""
    engine = create_engine(database_url)
    headers = {"Authorization": f"Bearer {api_key}"}
    timings = []
    try:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
            for i in range(n):
                created = await http.post(
                    "/v1/leads",
                    json={
                        "store_id": store_id, "source": "web_form",
                        "email": f"bench.{uuid.uuid4().hex[:10]}@example.com",
                    },
                )  # fmt: skip
                created.raise_for_status()
                lead_id = uuid.UUID(created.json()["lead_id"])
                started = time.perf_counter()
                answer = await http.post(
                    f"/v1/leads/{lead_id}/events",
                    json={
                        "event_id": f"bench-{uuid.uuid4()}",
                        "kind": "appointment_requested" if i % 2 else "question",
                        "payload": {"text": "Is the 2 carat solitaire GIA certified?"},
                    },
                )
                answer.raise_for_status()
                deadline = started + 30
                while time.perf_counter() < deadline:
                    found = _task_for(engine, lead_id)
                    if found is not None:
                        timings.append(time.perf_counter() - started)
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise AssertionError(f"no task for lead {lead_id} within 30 s")
    finally:
        engine.dispose()
    timings.sort()
    return {
        "hot_event_to_task_p50_s": round(statistics.median(timings), 3),
        "hot_event_to_task_p95_s": round(timings[math.ceil(0.95 * len(timings)) - 1], 3),
    }
