"""A page of a lead's timeline seeks to its cursor on an index and reads in order, no sort."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from db.repositories import EventRepository, TouchRepository
from db.repositories.base import After
from db.types import utcnow


def _plans(session: Session) -> list[str]:
    """The database's plan for each page query. PostgreSQL is told not to scan whole tables,
    build bitmaps or sort, which it may prefer on a test database's few rows (another index's
    one row, then sorted): what is checked is that the index can serve a page in order, as it
    will on many rows. A query no index can serve in order still shows a Sort."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
        session.execute(text("SET LOCAL enable_sort = off"))
    statements: list[tuple[str, Any]] = []
    connection = session.connection()

    @event.listens_for(connection, "before_cursor_execute")
    def keep(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    lead, cursor = uuid.uuid4(), After(utcnow(), uuid.uuid4())
    EventRepository(session).page_for_lead(lead, cursor, 101)
    TouchRepository(session).page_for_lead(lead, cursor, 101)
    event.remove(connection, "before_cursor_execute", keep)
    explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    raw = connection.connection.dbapi_connection
    assert raw is not None
    plans = []
    for statement, parameters in statements:
        db_cursor = raw.cursor()
        db_cursor.execute(explain + statement, parameters)
        plans.append(" | ".join(str(row) for row in db_cursor.fetchall()))
    return plans


def _sorts(plan: str) -> bool:
    """PostgreSQL says Sort; SQLite says USE TEMP B-TREE FOR ORDER BY."""
    return "sort" in plan.lower() or "temp b-tree" in plan.lower()


def test_timeline_pages_use_their_indexes_without_sorting(database):
    events, touches = database.read(_plans)
    assert "ix_event_lead_timeline" in events and not _sorts(events), events
    assert "ix_touch_lead_timeline" in touches and not _sorts(touches), touches
