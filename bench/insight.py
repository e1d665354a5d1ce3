"""Insight figures for `make bench` (bench/bench.py calls `measure_insight`).

On a temporary SQLite file, 100,000 leads with 1,000,000 messages (and their events, tasks,
journeys and sales) are written first with Core executemany (timed, as a diagnostic); then:

- `dashboard_p95_ms`: every available registry metric evaluated as its dashboard panel asks
  for it (the last 30 days, compared with the 30 before, split by the panel's dimension),
  `ROUNDS` times each; the worst metric's p95 (each panel's own p95 is in `insight_panels`).
- `question_p95_ms`: the parser's example questions answered with `insight.answer.ask`,
  `ROUNDS` times each; p95 over all of them.

Nothing else runs beside it: the stack is stopped first.
"""

from __future__ import annotations

import math
import tempfile
import time
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.migrate import migrate
from db.models import Staff, Store
from db.session import Database
from db.types import utcnow
from insight.answer import Answer, ask
from insight.period import Period, PeriodGrammar
from insight.question import EXAMPLES
from insight.registry import METRICS, Metric, Result, evaluate
from scripts.insight_seed import seed_activity
from sequences.vocabulary import StaffRole

ROUNDS = 5  # each metric (and each example question) is asked this many times
ZONE = "Asia/Kolkata"
# What each panel splits its metrics by on the dashboard.
PANEL_DIMENSION = {
    "inflow": ("source", "segment"),
    "speed": ("source",),
    "funnel": ("source",),
    "cohort_curve": (),
    "appointments": ("source",),
    "revenue": ("sequence",),
    "journey_steps": ("sequence",),
    "leaderboard": ("associate",),
    "going_cold": ("segment",),
    "pipeline": ("segment", "stage"),
    "messaging": ("channel",),
}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _store(database: Database) -> tuple[uuid.UUID, list[uuid.UUID]]:
    def work(session: Any) -> tuple[uuid.UUID, list[uuid.UUID]]:
        store = Store(name="Bench Jewellers", timezone=ZONE, country="IN", currency="INR")
        session.add(store)
        session.flush()
        for name in ("Priya", "Arjun", "Meera", "Rahul", "Kavya", "Vikram"):
            session.add(Staff(store_id=store.id, name=name, role=StaffRole.ASSOCIATE))
        session.flush()
        staff = list(session.scalars(select(Staff.id).where(Staff.store_id == store.id)))
        return store.id, staff

    return database.run(work)


def measure_insight(leads: int = 100_000, messages_per_lead: int = 10) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="facet-insight-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'insight.db'}"
        migrate(url)
        database = Database(url)
        try:
            store_id, staff = _store(database)
            now = utcnow()
            started = time.perf_counter()

            def seed(session: Any) -> Any:
                # one transaction (one fsync); a big page cache for 1.3 M rows' index pages
                connection = session.connection()
                connection.exec_driver_sql("PRAGMA cache_size=-262144")
                return seed_activity(
                    connection, store_id, staff, start=now - timedelta(days=120),
                    days=120, leads=leads, messages_per_lead=messages_per_lead,
                )  # fmt: skip

            seeded = database.run(seed)
            seed_s = time.perf_counter() - started
            # No ANALYZE: Facet never gathers SQLite statistics itself, so the dashboard is
            # timed with the query plans a store's own database gets.
            return {
                **_dashboard(database, store_id),
                **_questions(database, store_id),
                "insight_seed_s": round(seed_s, 1),
                "insight_leads": seeded.leads,
                "insight_messages": seeded.touches,
                "insight_events": seeded.events,
            }
        finally:
            database.dispose()


def _dashboard(database: Database, store_id: uuid.UUID) -> dict[str, Any]:
    today = utcnow().astimezone(ZoneInfo(ZONE)).date()
    period = PeriodGrammar(today, ZONE).default()
    panels: dict[str, float] = {}
    for metric in METRICS.values():
        if not metric.available:
            continue
        dims = tuple(d for d in PANEL_DIMENSION.get(metric.panel, ()) if d in metric.dimensions)[:1]
        times: list[float] = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            database.read(
                partial(_panel, metric=metric, period=period, store_id=store_id, dims=dims)
            )
            times.append((time.perf_counter() - started) * 1000)
        panels[metric.name] = round(_p95(times), 1)
        print(f"  {metric.name}: p95 {panels[metric.name]} ms", flush=True)
    return {"dashboard_p95_ms": max(panels.values()), "insight_panels": panels}


def _panel(
    session: Session, *, metric: Metric, period: Period, store_id: uuid.UUID, dims: tuple[str, ...]
) -> Result:
    return evaluate(session, metric, period, store_ids=[store_id], dimensions=dims, compare=True)


def _ask(session: Session, *, question: str, store_id: uuid.UUID) -> Answer:
    return ask(session, question, store_ids=[store_id], zone=ZONE, country="IN", now=utcnow())


def _questions(database: Database, store_id: uuid.UUID) -> dict[str, Any]:
    times: list[float] = []
    for _ in range(ROUNDS):
        for question in EXAMPLES:
            started = time.perf_counter()
            database.read(partial(_ask, question=question, store_id=store_id))
            times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return {
        "question_p95_ms": round(_p95(times), 1),
        "question_p50_ms": round(ordered[len(ordered) // 2], 1),
    }
