"""The instants the dashboards read off a lead row, kept in step with the rows they come from.

Speed to lead, time to purchase and going cold measure each lead by instants drawn from its
other rows, for tens of thousands of leads a panel: a seek per lead per instant, twice a
panel (the period and the one before), was most of their time. The lead row keeps those
instants instead (`LEAD_INSTANTS`), each over the lead's whole history:

- `first_message_at`: min(touch.sent_at) of the lead's messages, task notices to staff
  (`touch.staff_id` set) left out;
- `first_contact_at`: min(coalesce(task.acknowledged_at, task.completed_at)) of the tasks
  about the lead: the first time a person answered one;
- `first_purchase_at`: min(purchase.purchased_at), an imported sale from before the lead
  arrived included;
- `last_engaged_at`: max(event.occurred_at) of the lead's events of the engagement kinds
  (`qualification.scoring.ENGAGEMENT_KINDS`, as the going-cold sweep counts them);
- `in_journey_since`: min(enrollment.started_at) of the lead's active enrollments: since
  when it has been in a journey still running.

The registry bounds them by its own "now" (insight/registry.py): the first of a lead's rows
before now is its first instant if that came before now, else there is none; a lead whose
last engagement is after now, or whose first purchase came before it arrived, is counted
from its rows as before.

How they stay exact, whoever writes:

- Every flush of a `Database` unit of work runs `keep_in_step`, which looks at the events,
  messages, tasks, purchases and enrollments the flush wrote. What can only move an instant
  on (a new row, a message's `sent_at` set, a task answered) moves it with one guarded
  UPDATE (`first_… > :at`, `last_… < :at`); two writers at once cannot undo each other,
  since on PostgreSQL the second re-checks its guard against the first's row. Anything else
  (a row deleted or moved to another lead, a task handed back and its acknowledgement
  cleared, a journey ended, an instant rewritten later) recounts the leads concerned from
  their rows (`recount`), their rows locked first so a concurrent writer's rows are either
  counted or its guarded UPDATE comes after.
- What bypasses the ORM's flush calls in itself: `Repository.insert_many` and `insert_once`
  (`rows_inserted`), `LeadDirectory.move_history` and `EnrollmentRepository.finish`
  (`recount`), and code that writes raw rows (the demo and bench seed: `recount_where`).

A deriving update leaves `lead.updated_at` alone: the lead's record did not change. Lead
objects already loaded keep the values they were read with; read the instants afresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Update,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import inspect as inspect_row
from sqlalchemy.orm import Session

from core.vocabulary import JourneyStatus
from db.models import LEAD_INSTANTS, Enrollment, Event, Lead, Purchase, Task, Touch
from qualification.scoring import ENGAGEMENT_KINDS

_LEAD = cast(Table, Lead.__table__)
# kept as the earliest of their rows' instants; `last_engaged_at` as the latest
_EARLIEST = ("first_message_at", "first_contact_at", "first_purchase_at", "in_journey_since")
_ROWS = (Event, Touch, Task, Purchase, Enrollment)
_UNKNOWN = object()  # an attribute's value before the flush, when it was never loaded
_CHUNK = 500  # leads recounted per statement (bound parameters stay well under limits)


def _recounted() -> dict[str, Any]:
    """Each instant as the lead's rows give it: a scalar subquery correlated to the lead row
    being updated."""
    lead_id = _LEAD.c.id
    answered = func.coalesce(Task.acknowledged_at, Task.completed_at)  # or else completed
    return {
        "first_message_at": select(func.min(Touch.sent_at))
        .where(Touch.lead_id == lead_id, Touch.staff_id.is_(None))
        .scalar_subquery(),
        "first_contact_at": select(func.min(answered))
        .where(Task.lead_id == lead_id)
        .scalar_subquery(),
        "first_purchase_at": select(func.min(Purchase.purchased_at))
        .where(Purchase.lead_id == lead_id)
        .scalar_subquery(),
        "last_engaged_at": select(func.max(Event.occurred_at))
        .where(Event.lead_id == lead_id, Event.kind.in_(sorted(ENGAGEMENT_KINDS)))
        .scalar_subquery(),
        "in_journey_since": select(func.min(Enrollment.started_at))
        .where(Enrollment.lead_id == lead_id, Enrollment.status == JourneyStatus.ACTIVE)
        .scalar_subquery(),
    }


def _recount_statement() -> Update:
    return update(_LEAD).values(**_recounted(), updated_at=_LEAD.c.updated_at)


def recount_where(connection: Connection, where: ColumnElement[bool]) -> int:
    """Recount the instants of every lead matching `where` (rows written without the ORM:
    a seed, a backfill). Returns how many leads."""
    return connection.execute(_recount_statement().where(where)).rowcount


def recount(connection: Connection, lead_ids: Iterable[uuid.UUID]) -> None:
    """Recount these leads' instants from their rows, each lead's row locked first (on
    PostgreSQL: a concurrent writer's rows are then committed and counted, or its guarded
    UPDATE waits for this one)."""
    ids = sorted(set(lead_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        connection.execute(
            select(_LEAD.c.id).where(_LEAD.c.id.in_(chunk)).order_by(_LEAD.c.id).with_for_update()
        )
        connection.execute(_recount_statement().where(_LEAD.c.id.in_(chunk)))


def _advance_statement(name: str) -> Update:
    """Move one instant of a lead on to `at`, only if `at` moves it (earlier for a first,
    later for a last)."""
    column = _LEAD.c[name]
    at = bindparam("at", type_=column.type)
    moves = column > at if name in _EARLIEST else column < at
    return (
        update(_LEAD)
        .where(_LEAD.c.id == bindparam("lead"), or_(column.is_(None), moves))
        .values({name: at, "updated_at": _LEAD.c.updated_at})
    )


class _Changes:
    """What one write does to leads' instants: instants moved on, and leads to recount."""

    def __init__(self) -> None:
        self.moved: dict[str, dict[uuid.UUID, datetime]] = {name: {} for name in LEAD_INSTANTS}
        self.recount: set[uuid.UUID] = set()

    def move(self, name: str, lead_id: uuid.UUID, at: datetime) -> None:
        kept = self.moved[name].get(lead_id)
        if kept is None or (at < kept if name in _EARLIEST else at > kept):
            self.moved[name][lead_id] = at

    def new_row(self, row: Any) -> None:
        """A row written for the first time."""
        name, at = _instant_of(row)
        if name is not None and at is not None:
            self.move(name, row.lead_id, at)

    def changed_row(self, row: Any) -> None:
        """A row written before and changed in this flush."""
        before = _before(row)
        if before is None:
            return  # nothing an instant reads changed
        name, at = _instant_of(row)
        lead_before, name_before, at_before = before
        forward = (
            lead_before == row.lead_id
            and name_before == name
            and name in _EARLIEST
            and at is not None
            and (at_before is None or (at_before is not _UNKNOWN and at <= at_before))
        )
        if forward and name is not None and at is not None:
            self.move(name, row.lead_id, at)
        elif name is not None or name_before is not None:
            self.recount.add(row.lead_id)
            if lead_before is not _UNKNOWN:
                self.recount.add(lead_before)

    def apply(self, connection: Connection) -> None:
        for name, moved in self.moved.items():
            params = [
                {"lead": lead_id, "at": at}
                for lead_id, at in sorted(moved.items())
                if lead_id not in self.recount  # recounted below, from every row
            ]
            if params:
                connection.execute(_advance_statement(name), params)
        if self.recount:
            recount(connection, self.recount)


def _instant_of(row: Any) -> tuple[str | None, datetime | None]:
    """Which instant this row can set, and the instant it offers (None: none, as it stands)."""
    if isinstance(row, Touch):
        return ("first_message_at", row.sent_at) if row.staff_id is None else (None, None)
    if isinstance(row, Task):
        return "first_contact_at", row.acknowledged_at or row.completed_at
    if isinstance(row, Purchase):
        return "first_purchase_at", row.purchased_at
    if isinstance(row, Event):
        engaged = row.kind in ENGAGEMENT_KINDS
        return ("last_engaged_at", row.occurred_at) if engaged else (None, None)
    if isinstance(row, Enrollment):
        running = row.status == JourneyStatus.ACTIVE
        return ("in_journey_since", row.started_at) if running else (None, None)
    return None, None


_READ = {
    Touch: ("lead_id", "staff_id", "sent_at"),
    Task: ("lead_id", "acknowledged_at", "completed_at"),
    Purchase: ("lead_id", "purchased_at"),
    Event: ("lead_id", "kind", "occurred_at"),
    Enrollment: ("lead_id", "status", "started_at"),
}


def _before(row: Any) -> tuple[Any, str | None, Any] | None:
    """The row's (lead, instant name, instant) before this flush, from its attributes'
    history; None when none of the attributes an instant reads changed."""
    attrs = inspect_row(row).attrs
    histories = {name: attrs[name].history for name in _READ[type(row)]}
    if not any(history.has_changes() for history in histories.values()):
        return None

    def old(name: str) -> Any:
        history = histories[name]
        if not history.has_changes():
            return getattr(row, name)
        return history.deleted[0] if history.deleted else _UNKNOWN

    lead = old("lead_id")
    if isinstance(row, Touch):
        staff, sent = old("staff_id"), old("sent_at")
        if staff is _UNKNOWN:
            return lead, "first_message_at", _UNKNOWN
        return lead, ("first_message_at" if staff is None else None), sent
    if isinstance(row, Task):
        acknowledged, completed = old("acknowledged_at"), old("completed_at")
        if _UNKNOWN in (acknowledged, completed):
            return lead, "first_contact_at", _UNKNOWN
        return lead, "first_contact_at", acknowledged or completed
    if isinstance(row, Purchase):
        return lead, "first_purchase_at", old("purchased_at")
    if isinstance(row, Enrollment):
        status = old("status")
        running = status is _UNKNOWN or status == JourneyStatus.ACTIVE
        return lead, ("in_journey_since" if running else None), old("started_at")
    kind = old("kind")
    engaged = kind is _UNKNOWN or kind in ENGAGEMENT_KINDS
    return lead, ("last_engaged_at" if engaged else None), old("occurred_at")


def keep_in_step(session: Session, _flush_context: Any) -> None:
    """After a flush (a `Database` unit of work registers this as `after_flush`): the
    instants of the leads whose events, messages, tasks, purchases or journeys it wrote."""
    changes = _Changes()
    for row in session.new:
        if isinstance(row, _ROWS):
            changes.new_row(row)
    for row in session.dirty:
        if isinstance(row, _ROWS):
            changes.changed_row(row)
    for row in session.deleted:
        if isinstance(row, _ROWS):
            changes.recount.add(row.lead_id)
    changes.apply(session.connection())


def rows_inserted(session: Session, rows: Collection[Any]) -> None:
    """After rows were INSERTed outside the unit of work's flush (`insert_many`,
    `insert_once`): the instants they move on."""
    changes = _Changes()
    for row in rows:
        if isinstance(row, _ROWS):
            changes.new_row(row)
    changes.apply(session.connection())
