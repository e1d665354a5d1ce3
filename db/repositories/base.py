"""The one small base every repository shares, and the insert that never races."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Insert, insert, select, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from db.instants import rows_inserted
from db.models import Base
from db.types import utcnow

M = TypeVar("M", bound=Base)


def insert_ignoring_conflicts(session: Session, table: Any, values: dict[str, Any]) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING, spelled for the session's dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing()


@dataclass(frozen=True)
class After:
    """Where a page of a time-ordered listing starts: rows later than `at`, and of the rows
    at `at` itself, those with an id above `tie` (a UUID), all of them (True) or none (False).
    """

    at: datetime
    tie: uuid.UUID | bool

    def clause(self, at: Any, row_id: Any) -> ColumnElement[bool]:
        if self.tie is True:
            return at >= self.at  # type: ignore[no-any-return]
        if self.tie is False:
            return at > self.at  # type: ignore[no-any-return]
        # A row-value comparison: SQLite and PostgreSQL both seek an index on (…, at, id) to it.
        return tuple_(at, row_id) > tuple_(self.at, self.tie)


def after(position: After | None, at: Any, row_id: Any) -> ColumnElement[bool]:
    """The WHERE clause for rows past `position` (every row when there is none)."""
    return position.clause(at, row_id) if position is not None else true()


class Repository(Generic[M]):
    """Queries for one model, inside the caller's unit of work (a repository never commits).

    Subclasses name their `model` and add the queries their aggregate needs.
    """

    model: ClassVar[type[Any]]

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, row_id: uuid.UUID) -> M | None:
        row: M | None = self.session.get(self.model, row_id)
        return row

    def add(self, row: M, *, flush: bool = True) -> M:
        """Add the row; `flush=False` leaves the INSERT to the unit of work's next flush."""
        self.session.add(row)
        if flush:
            self.session.flush()
        return row

    def insert_many(self, rows: Sequence[M]) -> None:
        """INSERT these new rows in one statement. They stay outside the session: for an
        import's thousands of rows, where the unit of work's bookkeeping per row costs more
        than writing it. A column left None that has a default gets it."""
        if not rows:
            return
        columns = self.model.__table__.columns
        self.session.execute(
            insert(self.model),
            [
                {
                    column.key: value
                    for column in columns
                    if (value := getattr(row, column.key)) is not None
                    or (column.default is None and column.server_default is None)
                }
                for row in rows
            ],
        )
        rows_inserted(self.session, rows)  # past the flush that keeps leads' instants

    def insert_once(self, row: M, key: InstrumentedAttribute[Any]) -> tuple[M, bool]:
        """Insert `row` unless a row with the same unique `key` exists (INSERT … ON CONFLICT
        DO NOTHING, so concurrent attempts never both win). Returns (the stored row, inserted).
        """
        values = {
            column.key: getattr(row, column.key)
            for column in self.model.__table__.columns
            if getattr(row, column.key) is not None
        }
        values.setdefault("id", uuid.uuid4())
        now = utcnow()
        values.setdefault("created_at", now)
        values.setdefault("updated_at", now)
        inserted = self.session.execute(
            insert_ignoring_conflicts(self.session, self.model, values).returning(self.model.id)
        ).scalar()
        stored: M = self.session.scalars(select(self.model).where(key == values[key.key])).one()
        if inserted is not None:
            rows_inserted(self.session, [stored])  # past the flush that keeps leads' instants
        return stored, inserted is not None
