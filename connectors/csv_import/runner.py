"""Running one import: rows read from a file as it streams, written in small units of work.

Why a background task with progress rows, not a Temporal workflow: the file is on the API's
disk (it arrived there as the upload streamed), and a worker elsewhere cannot read it; every
row is idempotent by its upsert key, so an import stopped half-way (a restart) is finished by
running the same file again. Progress is the `import_run` row, updated after each unit of
work, which is what `GET /v1/imports/{id}` and the console's page read. Temporal hears each
sale's effects (journeys converted, post-purchase started) once its unit has committed,
exactly as after the till's webhook.

Sale lines are grouped by `external_sale_id`; the lines of one sale must be next to each other
(as every export writes them), so only one sale is held at a time.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connectors.csv_import import columns
from connectors.csv_import.reading import FileRefused, Record, records
from db.repositories import ProductRepository
from db.session import Database
from db.types import utcnow
from domain import catalogue, imports
from domain.access import Actor
from domain.effects import Effects
from domain.errors import DomainError, InvalidField
from domain.imports import RowError, Tally
from domain.purchases import Sale
from domain.reference import Reference, StoreProfile

log = logging.getLogger(__name__)

Tell = Callable[[Effects], Awaitable[Any]]
# Rows (or sales) per unit of work: short enough that SQLite's one writer is never held long.
BATCH = 500


@dataclass(frozen=True)
class ImportOrder:
    run_id: uuid.UUID
    store_id: uuid.UUID
    kind: imports.Kind
    source: str
    full: bool
    dry_run: bool
    actor: Actor


@dataclass
class _SaleInProgress:
    sale_id: str
    first_row: int
    lines: list[tuple[int, columns.SaleLine]] = field(default_factory=list)
    bad_rows: list[int] = field(default_factory=list)


@dataclass
class _Reading:
    """Where the reading of one file stands between units of work."""

    rows: Iterator[Record]
    store: StoreProfile
    now: datetime
    done: bool = False
    refused: str | None = None  # the file stopped being readable (its rows before are kept)
    open_sale: _SaleInProgress | None = None
    finished_sales: set[str] = field(default_factory=set)
    listed_skus: set[str] = field(default_factory=set)


async def run_import(
    database: Database,
    reference: Reference,
    order: ImportOrder,
    chunks: Iterable[bytes],
    tell: Tell,
) -> None:
    """Read and import the file; the run row says how it went (never raises)."""
    try:
        store = await asyncio.to_thread(
            database.read, lambda s: imports.store_for(s, reference, order.actor, order.store_id)
        )
        required, optional = columns.COLUMNS[order.kind]
        reading = _Reading(
            rows=records(chunks, required, [*required, *optional]), store=store, now=utcnow()
        )
        while not reading.done:
            effects = await asyncio.to_thread(_one_unit, database, reference, order, reading)
            for effect in effects:
                await tell(effect)
        if reading.refused:
            raise FileRefused(reading.refused)
        if order.full and order.kind == "products":
            await asyncio.to_thread(database.run, lambda s: _deactivate(s, order, reading))
        await asyncio.to_thread(database.run, lambda s: imports.finish_run(s, order.run_id))
    except FileRefused as refused:
        await _fail(database, order.run_id, str(refused))
    except asyncio.CancelledError:
        # The process is stopping: say so now, rather than leave the run `running`.
        await asyncio.to_thread(database.run, lambda s: imports.interrupt(s, order.run_id))
        raise
    except Exception:
        log.exception("import %s stopped", order.run_id)
        await _fail(
            database,
            order.run_id,
            "the import stopped unexpectedly; the rows counted so far are saved, and running "
            "the same file again is safe (each row is imported once)",
        )


async def _fail(database: Database, run_id: uuid.UUID, message: str) -> None:
    await asyncio.to_thread(database.run, lambda s: imports.finish_run(s, run_id, message))


def _deactivate(session: Session, order: ImportOrder, reading: _Reading) -> None:
    tally = Tally()
    if order.dry_run:
        missing = ProductRepository(session).active_skus(order.store_id, order.source)
        tally.deactivated = len(missing - reading.listed_skus)
    else:
        tally.deactivated = catalogue.deactivate_missing(
            session, order.store_id, order.source, reading.listed_skus
        )
    imports.add_progress(session, order.run_id, tally)


@dataclass
class _Unit:
    """What one unit of work writes, read and checked before the unit begins (so a unit the
    database retries whole writes the same rows again)."""

    tally: Tally = field(default_factory=Tally)
    people: list[tuple[columns.Row, columns.Person]] = field(default_factory=list)
    pieces: list[catalogue.Piece] = field(default_factory=list)
    sales: list[_SaleInProgress] = field(default_factory=list)


def _one_unit(
    database: Database, reference: Reference, order: ImportOrder, reading: _Reading
) -> list[Effects]:
    """Read up to BATCH rows (or sales), then write them in one unit of work.

    Rows are written without a savepoint each (the common case: every row the domain takes);
    if the domain refuses one, the unit is rolled back and written again a row at a time in
    savepoints, so the refused row is reported and the others are kept.
    """
    unit = _read_sales(order, reading) if order.kind == "sales" else _read_rows(order, reading)
    try:
        return database.run(lambda s: _write(s, reference, order, reading, unit, guarded=False))
    except DomainError:
        return database.run(lambda s: _write(s, reference, order, reading, unit, guarded=True))


def _next(reading: _Reading) -> Record | None:
    try:
        return next(reading.rows, None)
    except FileRefused as refused:
        reading.refused = str(refused)
        reading.open_sale = None  # a sale cut off by the bad line is not complete
        return None


def _read_rows(order: ImportOrder, reading: _Reading) -> _Unit:
    unit = _Unit()
    for _ in range(BATCH):
        record = _next(reading)
        if record is None:
            reading.done = True
            break
        unit.tally.rows_read += 1
        row = columns.Row(record.row, record.values)
        if order.kind == "products":
            if record.values.get("sku"):
                reading.listed_skus.add(record.values["sku"])
            piece = columns.product(row, reading.store.currency)
            if piece is not None:
                unit.pieces.append(piece)
        else:
            found = columns.person(row, order.source, reading.store.country, reading.store.currency)
            if found is not None:
                unit.people.append((row, found))
        unit.tally.errors.extend(row.errors)
    return unit


def _read_sales(order: ImportOrder, reading: _Reading) -> _Unit:
    unit = _Unit()
    while len(unit.sales) < BATCH:
        record = _next(reading)
        if record is None:
            reading.done = True
            if reading.open_sale is not None:
                _close(reading, unit)
            break
        unit.tally.rows_read += 1
        row = columns.Row(record.row, record.values)
        line = columns.sale_line(row, order.source, reading.store.country, reading.store.currency)
        sale_id = record.values.get("external_sale_id", "")
        current = reading.open_sale
        if current is not None and current.sale_id != sale_id:
            _close(reading, unit)
            current = None
        if current is None:
            if sale_id in reading.finished_sales:
                row.errors.append(
                    RowError(
                        row.number,
                        "external_sale_id",
                        "the lines of one sale next to each other (this sale's earlier lines "
                        "came before another sale)",
                    )
                )
                unit.tally.errors.extend(row.errors)
                continue
            current = reading.open_sale = _SaleInProgress(sale_id, record.row)
        if line is not None:
            _check_line(row, current, line)
        if row.errors or line is None:
            current.bad_rows.append(record.row)
            unit.tally.errors.extend(row.errors)
        else:
            current.lines.append((record.row, line))
    return unit


def _close(reading: _Reading, unit: _Unit) -> None:
    """The sale whose lines were just read is complete: to be written if every line was good."""
    sale = reading.open_sale
    assert sale is not None
    reading.open_sale = None
    if sale.sale_id:
        reading.finished_sales.add(sale.sale_id)
    if sale.bad_rows:
        unit.tally.errors.extend(
            RowError(
                number,
                "external_sale_id",
                f"every line of this sale to be good (the line at row {sale.bad_rows[0]} is not)",
            )
            for number, _ in sale.lines
        )
    elif sale.lines:
        unit.sales.append(sale)


def _write(
    session: Session,
    reference: Reference,
    order: ImportOrder,
    reading: _Reading,
    unit: _Unit,
    *,
    guarded: bool,
) -> list[Effects]:
    tally = Tally(rows_read=unit.tally.rows_read, errors=list(unit.tally.errors))
    effects: list[Effects] = []
    if not order.dry_run:
        for piece in unit.pieces:
            tally.count(catalogue.upsert_piece(session, order.store_id, order.source, piece))
        for row, found in unit.people:
            errors = columns.Row(row.number, {})
            outcome = _guarded(
                session,
                guarded,
                errors,
                lambda found=found: imports.import_customer(  # type: ignore[misc]
                    session, reading.store, order.source, found.who, found.details
                ),
            )
            if outcome is not None:
                tally.count(outcome)
            tally.errors.extend(errors.errors)
        if guarded:
            for sale in unit.sales:
                effects.extend(_write_sale(session, reference, order, reading, sale, tally))
        else:
            # The common case: the unit's sales recorded together (buyers, sales recorded
            # before and running journeys looked up once for all of them).
            written = imports.import_sales(
                session,
                reference,
                order.actor,
                [_sale(order, sale) for sale in unit.sales],
                now=reading.now,
            )
            for sale, (outcome, effect) in zip(unit.sales, written, strict=True):
                for _ in sale.lines:
                    tally.count(outcome)
                effects.append(effect)
    imports.add_progress(session, order.run_id, tally)
    return [effect for effect in effects if not effect.empty]


def _guarded(session: Session, guarded: bool, row: columns.Row, work: Callable[[], Any]) -> Any:
    """Run one row's domain call; `guarded`, in a savepoint, where a refusal is that row's
    error, not the unit's (unguarded, a refusal rolls the unit back)."""
    if not guarded:
        return work()
    try:
        with session.begin_nested():
            return work()
    except InvalidField as error:
        row.errors.append(RowError(row.number, error.field, error.message))
    except DomainError as error:
        row.errors.append(RowError(row.number, "row", str(error)))
    return None


def _check_line(row: columns.Row, sale: _SaleInProgress, line: columns.SaleLine) -> None:
    if any(other.line_no == line.line_no for _, other in sale.lines):
        row.errors.append(
            RowError(row.number, "line_no", "a line number not used before in this sale")
        )
    if sale.lines and sale.lines[0][1].currency != line.currency:
        row.errors.append(
            RowError(row.number, "currency", f"the sale's currency, {sale.lines[0][1].currency}")
        )


def _sale(order: ImportOrder, sale: _SaleInProgress) -> Sale:
    """The sale whose lines were read (all good), as the till would report it."""
    first = sale.lines[0][1]
    return Sale(
        store_id=order.store_id,
        pos_transaction_id=_transaction_id(order, sale),
        buyer=first.buyer.who,
        buyer_details=first.buyer.details,
        amount_minor=sum(line.amount_minor for _, line in sale.lines),
        currency=first.currency,
        items=[line.item for _, line in sorted(sale.lines, key=lambda pair: pair[1].line_no)],
        associate_id=None,
        purchased_at=first.sold_at,
        occasion=None,
    )


def _write_sale(
    session: Session,
    reference: Reference,
    order: ImportOrder,
    reading: _Reading,
    sale: _SaleInProgress,
    tally: Tally,
) -> list[Effects]:
    """Record one sale in its own savepoint (a unit the domain refused, written again sale by
    sale): a refusal is that sale's rows' error."""
    row = columns.Row(sale.lines[0][0], {})
    result = _guarded(
        session,
        True,
        row,
        lambda: imports.import_sales(
            session, reference, order.actor, [_sale(order, sale)], now=reading.now
        )[0],
    )
    if result is None:
        tally.errors.extend(
            RowError(number, error.column, error.expected)
            for number, _ in sale.lines
            for error in row.errors
        )
        return []
    outcome, effects = result
    for _ in sale.lines:
        tally.count(outcome)
    return [effects]


def _transaction_id(order: ImportOrder, sale: _SaleInProgress) -> str:
    """The sale's key among the store's purchases: its source system's sale id."""
    return f"{order.source}:{sale.sale_id}"
