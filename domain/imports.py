"""Importing a store system's files: what a customer, a sale line or a piece in a CSV means.

A door (connectors/csv_import) reads and checks the rows; each good one comes here and goes
through the same domain call as the live door would use: a customer through
`find_or_create_lead`, a sale through `record_sales` (journeys converted, post-purchase
started), a piece through `upsert_piece`. Upsert keys make a second run change nothing.

A sale sold long before the import is history: it is recorded and converts running journeys
as any sale does, but starts no new journey and no rescoring now (a store loading five years
of sales must not send five years of thank-yous today; the nightly rescoring reads them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from db.models import ImportRun
from db.repositories import ImportRunRepository
from db.types import utcnow
from domain.access import Actor
from domain.catalogue import Outcome
from domain.effects import Effects
from domain.errors import InvalidField, NotFound
from domain.leads import Details, Identity, find_or_create_lead
from domain.purchases import Sale, record_sales
from domain.reference import Reference, StoreProfile

Kind = Literal["customers", "sales", "products"]
KINDS: tuple[Kind, ...] = ("customers", "sales", "products")
# A sale older than this when imported is history (see the module's docstring).
HISTORY_AFTER = timedelta(days=30)
# A run that has written nothing for this long is not running: its process stopped (an API
# restart). A live run writes a unit of rows every few seconds.
STALLED_AFTER = timedelta(minutes=5)
# What an interrupted run's report says (with the rows it had done).
INTERRUPTED = (
    "the import was interrupted after the rows counted here (the service running it stopped); "
    "upload the same file again to finish it: the rows imported before are found unchanged, "
    "and none is imported twice"
)
# The report keeps this many bad rows in full; `error_count` counts them all.
KEPT_ERRORS = 500
# What full mode means for each kind, as the report and the README say it.
FULL_MODE_MEANS = {
    "products": "pieces of this source absent from the file are marked inactive",
    "customers": "no one is removed or deactivated: people keep their history and consent",
    "sales": "sales are facts: a sale absent from the file is kept (a return is an event)",
}


@dataclass(frozen=True)
class RowError:
    """A bad row: its number in the file (the header is row 1), the column, what was expected."""

    row: int
    column: str
    expected: str


@dataclass
class Tally:
    """What a stretch of rows did (added to the run's counters)."""

    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    errors: list[RowError] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def store_for(
    session: Session, reference: Reference, actor: Actor, store_id: uuid.UUID
) -> StoreProfile:
    store = reference.store(session, store_id)
    if store is None or not actor.may_access_store(store_id):
        raise InvalidField("store_id", f"no store with id {store_id} that this caller may see")
    return store


def open_run(
    session: Session,
    reference: Reference,
    actor: Actor,
    *,
    store_id: uuid.UUID,
    kind: Kind,
    source: str,
    mode: str,
    dry_run: bool,
) -> uuid.UUID:
    """A new run, `running`, with nothing counted yet."""
    store_for(session, reference, actor, store_id)
    run = ImportRun(
        id=uuid.uuid4(),
        store_id=store_id,
        kind=kind,
        source=source,
        mode=mode,
        dry_run=dry_run,
        status="running",
        started_by=actor.name,
        rows_read=0,
        rows_failed=0,
        created=0,
        updated=0,
        unchanged=0,
        deactivated=0,
        error_count=0,
        errors=[],
        started_at=utcnow(),
        progress_at=utcnow(),
    )
    ImportRunRepository(session).add(run)
    return run.id


def add_progress(session: Session, run_id: uuid.UUID, tally: Tally) -> None:
    run = session.get_one(ImportRun, run_id)
    run.progress_at = utcnow()
    run.rows_read += tally.rows_read
    run.rows_failed += len({error.row for error in tally.errors})
    run.created += tally.created
    run.updated += tally.updated
    run.unchanged += tally.unchanged
    run.deactivated += tally.deactivated
    run.error_count += len(tally.errors)
    room = KEPT_ERRORS - len(run.errors)
    if room > 0 and tally.errors:
        kept = [{"row": e.row, "column": e.column, "expected": e.expected} for e in tally.errors]
        run.errors = [*run.errors, *kept[:room]]


def finish_run(session: Session, run_id: uuid.UUID, failure: str | None = None) -> None:
    run = session.get_one(ImportRun, run_id)
    run.status = "failed" if failure else "done"
    run.failure = failure
    run.finished_at = utcnow()


def stalled(run: ImportRun, now: datetime) -> bool:
    """Running, by its row, but nothing written for STALLED_AFTER: its process stopped."""
    last = run.progress_at or run.started_at
    return run.status == "running" and last < now - STALLED_AFTER


def status_of(run: ImportRun, now: datetime) -> str:
    """The run's status as a person should read it: `interrupted` for a stalled run, even
    before a restarted API has recorded it so."""
    return "interrupted" if stalled(run, now) else run.status


def failure_of(run: ImportRun, now: datetime) -> str | None:
    if stalled(run, now):
        return INTERRUPTED
    return run.failure


def interrupt_stalled(session: Session, *, now: datetime) -> int:
    """Record the runs whose process stopped as `interrupted`, with the rows they had done
    (an API calls this as it starts); how many."""
    runs = ImportRunRepository(session).running()
    stopped = [run for run in runs if stalled(run, now)]
    for run in stopped:
        _interrupted(run, now)
    return len(stopped)


def interrupt(session: Session, run_id: uuid.UUID) -> None:
    """The run's process is stopping it (a shutdown): `interrupted`, with the rows done."""
    run = session.get_one(ImportRun, run_id)
    if run.status == "running":
        _interrupted(run, utcnow())


def _interrupted(run: ImportRun, now: datetime) -> None:
    run.status = "interrupted"
    run.failure = INTERRUPTED
    run.finished_at = now


def run_for(session: Session, actor: Actor, run_id: uuid.UUID) -> ImportRun:
    run = ImportRunRepository(session).get(run_id)
    if run is None or not actor.may_access_store(run.store_id):
        raise NotFound(f"import {run_id}")
    return run


def import_customer(
    session: Session, store: StoreProfile, source: str, who: Identity, details: Details
) -> Outcome:
    """The person, found or created the way every door does it."""
    found = find_or_create_lead(session, store, who, details, source=source)
    if found.created:
        return "created"
    return "updated" if session.is_modified(found.lead) else "unchanged"


def import_sales(
    session: Session, reference: Reference, actor: Actor, sales: Sequence[Sale], *, now: datetime
) -> list[tuple[Outcome, Effects]]:
    """The sales (a unit of work's), recorded as the till's would be, together
    (`record_sales`); one sold before HISTORY_AFTER is history (it starts nothing new), and
    one recorded before changes nothing (a re-run must not start a finished journey again)."""
    dated = [
        replace(
            sale, history=sale.purchased_at is not None and sale.purchased_at < now - HISTORY_AFTER
        )
        for sale in sales
    ]
    return [
        ("unchanged", Effects()) if recorded.duplicate else ("created", recorded.effects)
        for recorded in record_sales(session, reference, actor, dated)
    ]
