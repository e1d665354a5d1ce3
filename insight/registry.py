"""The metric registry: every number Facet shows is defined here, once.

How to use it (dashboards, CSV, questions and the weekly email all do this):

    from insight.period import Period
    from insight.registry import METRICS, evaluate

    period = Period.of_days(date(2026, 11, 23), date(2026, 11, 30), "Asia/Kolkata")
    result = evaluate(session, METRICS["conversion"], period, store_ids=[store.id],
                      dimensions=("source",), filters={"segment": "bridal"}, compare=True)
    result.value        # 0.092 (a ratio is a fraction; `format_value` writes "9.2 %")
    result.numerator    # 11  (ratios only)
    result.denominator  # 120
    result.rows         # [Row(keys={"source": "instagram"}, value=…, numerator=…, …), …]
    result.previous     # the same Result for the equal period before (compare=True)
    result.sql          # the exact statement that ran, literal values in, for display

A metric is a `source` (a SQLAlchemy Core select of one row per counted thing, with a
`store_id` column, one column per dimension and filter, and the measure columns its kind
needs) plus how to fold those rows:

- `count`: rows counted. `snapshot`: the same, but "now" (the period's end) rather than the
  period's rows (open tasks, going cold, the pipeline); the period only fixes the instant.
- `ratio`: a `hit` column of 1/0; value = Σhit ÷ rows (numerator, denominator kept).
- `money`: an `amount` column in minor units and a `currency` column; value = Σamount when one
  currency, else None with one row per currency. `Row.extra["orders"]` counts the rows.
- `duration`: `began` and `ended` instants; durations are computed in Python from the fetched,
  sorted rows (nearest-rank percentiles), so SQLite and PostgreSQL agree to the second.
  value = p50 seconds; `extra` holds p90, the count still waiting (`ended` NULL) and the share
  in each of the metric's `bands` (e.g. speed-to-lead 0–5 / 5–15 / 15–60 / 60+ minutes).

Every statement is limited to `store_ids` (never empty): a caller passes the branches its
actor may see, so no question or export can reach another branch. Filters and dimensions
are names the metric declares; values are bound parameters, never text pasted into SQL.

A metric whose data Facet does not record yet has `available=False` and a `note`; evaluate
returns a Result with `value=None` and that note, never an invented number.
"""

from __future__ import annotations

import math
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from core.vocabulary import Stage, TaskStatus, TouchStatus
from db.models import Enrollment, Event, Lead, Purchase, Staff, Task, Touch
from insight.period import Period
from qualification.cold import COLD_AFTER_DAYS, DEFAULT_COLD_AFTER_DAYS
from qualification.scoring import ENGAGEMENT_KINDS
from sequences.vocabulary import EventKind

Kind = Literal["count", "ratio", "money", "duration", "snapshot"]
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class Window:
    """What a source needs: the period's instants and "now" (snapshots are taken at `now`)."""

    start: datetime
    end: datetime
    now: datetime


@dataclass(frozen=True)
class Metric:
    """One number, defined once. `dimensions` and `filters` map a name to its label."""

    name: str
    label: str
    kind: Kind
    unit: str  # "leads", "%", "money", "seconds", "messages", …
    definition: str  # one sentence a person can read
    source: Callable[[Window], Select[Any]] | None
    synonyms: tuple[str, ...] = ()
    dimensions: Mapping[str, str] = field(default_factory=dict)
    filters: Mapping[str, str] = field(default_factory=dict)
    # duration metrics: (label, upper bound in seconds or None for "and above")
    bands: tuple[tuple[str, float | None], ...] = ()
    cumulative_bands: bool = False  # bands as "within N" shares rather than buckets
    higher_is_better: bool = True
    available: bool = True
    note: str = ""  # why the number is missing, when it is
    panel: str = ""  # the dashboard panel it belongs to (reference §1)


@dataclass(frozen=True)
class Row:
    """One group of a dimensioned result: `keys` maps dimension name → value (str or None)."""

    keys: dict[str, str | None]
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    metric: Metric
    period: Period
    value: float | int | None
    numerator: int | None
    denominator: int | None
    rows: list[Row]
    sql: str
    dimensions: tuple[str, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)
    currency: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    previous: Result | None = None
    note: str = ""

    @property
    def change(self) -> float | None:
        """This value minus the previous period's (None without both)."""
        if self.previous is None or self.value is None or self.previous.value is None:
            return None
        return self.value - self.previous.value


class _Milliseconds(FunctionElement[int]):
    """Whole milliseconds from `began` to `ended` (each instant taken to the millisecond,
    the finest SQLite's date arithmetic keeps), computed by the database; NULL while
    `ended` is. Reading tens of thousands of pairs of instants into Python cost more than
    the query: the database returns one integer a row instead."""

    type = BigInteger()
    name = "milliseconds_between"
    inherit_cache = True


@compiles(_Milliseconds, "sqlite")
def _milliseconds_sqlite(element: _Milliseconds, compiler: Any, **kw: Any) -> str:
    began, ended = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(round((julianday({ended}) - julianday({began})) * 86400000.0) AS INTEGER)"


@compiles(_Milliseconds)
def _milliseconds(element: _Milliseconds, compiler: Any, **kw: Any) -> str:
    began, ended = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"CAST(round(EXTRACT(EPOCH FROM {ended}) * 1000)"
        f" - round(EXTRACT(EPOCH FROM {began}) * 1000) AS BIGINT)"
    )


class UnknownName(ValueError):
    """A dimension or filter the metric does not declare (a caller's mistake: say which)."""


# --- evaluating ---------------------------------------------------------------------------------


def evaluate(
    session: Session,
    metric: Metric,
    period: Period,
    *,
    store_ids: Sequence[uuid.UUID],
    dimensions: Sequence[str] = (),
    filters: Mapping[str, str] | None = None,
    compare: bool = False,
    now: datetime | None = None,
) -> Result:
    """Compute `metric` over `period` for the given branches.

    `dimensions` (at most two) split the rows; `filters` keep rows whose column equals the
    value. `compare=True` also computes the equal period before (`result.previous`).
    `now` is the instant snapshots and "as of now" rules use (default: the period's end,
    or the real now if sooner).
    """
    if not store_ids:
        raise ValueError("evaluate needs at least one store id (the branches the actor sees)")
    filters = dict(filters or {})
    dims = tuple(dimensions)
    for name in dims:
        if name not in metric.dimensions:
            raise UnknownName(f"{metric.name} has no dimension {name!r}")
    for name in filters:
        if name not in metric.filters:
            raise UnknownName(f"{metric.name} has no filter {name!r}")
    if len(dims) > 2:
        raise UnknownName("at most two dimensions")
    result = _evaluate_once(session, metric, period, store_ids, dims, filters, now)
    if compare:
        before = period.previous()
        previous = _evaluate_once(session, metric, before, store_ids, dims, filters, None)
        result = Result(**{**result.__dict__, "previous": previous})
    return result


def statement(
    metric: Metric,
    period: Period,
    *,
    store_ids: Sequence[uuid.UUID],
    dimensions: Sequence[str] = (),
    filters: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Select[Any]:
    """The select `evaluate` runs (exposed for tests and the bench)."""
    if metric.source is None:
        raise ValueError(f"{metric.name} has no data yet: {metric.note}")
    window = Window(period.start, period.end, _now(period, now))
    facts = metric.source(window).subquery("facts")
    where: list[ColumnElement[bool]] = [facts.c.store_id.in_(list(store_ids))]
    where += [facts.c[name] == value for name, value in (filters or {}).items()]
    keys = [facts.c[name] for name in dimensions]
    if metric.kind == "duration":
        # no ORDER BY: the fold sorts the durations it computes, and groups by key itself
        took = _Milliseconds(facts.c.began, facts.c.ended).label("milliseconds")
        return select(*keys, took).where(*where)
    if metric.kind == "ratio":
        measures = [
            func.coalesce(func.sum(facts.c.hit), 0).label("numerator"),
            func.count().label("denominator"),
        ]
    elif metric.kind == "money":
        keys = [*keys, facts.c.currency]
        measures = [
            func.coalesce(func.sum(facts.c.amount), 0).label("value"),
            func.count().label("orders"),
        ]
    else:
        measures = [func.count().label("value")]
    stmt = select(*keys, *measures).where(*where)
    if keys:
        stmt = stmt.group_by(*keys).order_by(*keys)
    return stmt


def lead_list(
    session: Session,
    metric: Metric,
    period: Period,
    *,
    store_ids: Sequence[uuid.UUID],
    filters: Mapping[str, str] | None = None,
    now: datetime | None = None,
    limit: int = 5_000,
) -> list[dict[str, Any]]:
    """The leads behind a metric's number (e.g. who is going cold), one dict per row counted:
    lead_id, first_name, last_name and the metric's dimension columns. Personal data: for
    pages and exports a person asked for, never for logs."""
    for name in filters or {}:
        if name not in metric.filters:
            raise UnknownName(f"{metric.name} has no filter {name!r}")
    if metric.source is None:
        return []
    window = Window(period.start, period.end, _now(period, now))
    facts = metric.source(window).subquery("facts")
    dims = [facts.c[name] for name in metric.dimensions if name in facts.c]
    where: list[ColumnElement[bool]] = [facts.c.store_id.in_(list(store_ids))]
    where += [facts.c[name] == value for name, value in (filters or {}).items()]
    stmt = (
        select(facts.c.lead_id, Lead.first_name, Lead.last_name, *dims)
        .join(Lead, Lead.id == facts.c.lead_id)
        .where(*where)
        .order_by(Lead.created_at, Lead.id)
        .limit(limit)
    )
    return [
        {key: _text(value) for key, value in row._mapping.items()} for row in session.execute(stmt)
    ]


def compiled_sql(session: Session, stmt: Select[Any]) -> str:
    """The statement as the database ran it, with its values written in (for display)."""
    return str(
        stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    )


def _now(period: Period, now: datetime | None) -> datetime:
    if now is not None:
        return now
    from db.types import utcnow

    return min(period.end, utcnow())


def _evaluate_once(
    session: Session,
    metric: Metric,
    period: Period,
    store_ids: Sequence[uuid.UUID],
    dims: tuple[str, ...],
    filters: dict[str, str],
    now: datetime | None,
) -> Result:
    if not metric.available or metric.source is None:
        return Result(metric, period, None, None, None, [], "", dims, filters, note=metric.note)
    stmt = statement(metric, period, store_ids=store_ids, dimensions=dims, filters=filters, now=now)
    sql = compiled_sql(session, stmt)
    # Core, not the ORM: these are plain columns, and the ORM's row loading cost more than
    # the query on tens of thousands of rows. A duration's rows (one a lead) stream through
    # its fold, each let go once read: tens of thousands of row objects held at once set off
    # a full sweep of the garbage collector, call after call.
    result = session.connection().execute(stmt)
    fetched = result if metric.kind == "duration" else result.all()
    fold = _FOLDS[metric.kind]
    return fold(metric, period, dims, filters, fetched, sql)


def _ordered(rows: list[Row]) -> list[Row]:
    """Rows by their keys, "(none)" last: the same order on both databases, whose collations
    and NULL placement differ."""
    return sorted(rows, key=lambda row: tuple((v is None, v or "") for v in row.keys.values()))


def _keys(dims: tuple[str, ...], row: Any) -> dict[str, str | None]:
    return {name: _text(row[index]) for index, name in enumerate(dims)}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.value if hasattr(value, "value") else str(value)


def _fold_count(metric, period, dims, filters, fetched, sql) -> Result:  # type: ignore[no-untyped-def]
    rows = [Row(_keys(dims, row), int(row.value)) for row in fetched]
    total = sum(int(row.value) for row in fetched)
    return Result(
        metric, period, total, None, None, _ordered(rows) if dims else [], sql, dims, filters
    )


def _fold_ratio(metric, period, dims, filters, fetched, sql) -> Result:  # type: ignore[no-untyped-def]
    rows = [
        Row(
            _keys(dims, row),
            _share(int(row.numerator), int(row.denominator)),
            int(row.numerator),
            int(row.denominator),
        )
        for row in fetched
    ]
    numerator = sum(int(row.numerator) for row in fetched)
    denominator = sum(int(row.denominator) for row in fetched)
    value = _share(numerator, denominator)
    rows = _ordered(rows) if dims else []
    return Result(metric, period, value, numerator, denominator, rows, sql, dims, filters)


def _fold_money(metric, period, dims, filters, fetched, sql) -> Result:  # type: ignore[no-untyped-def]
    rows = [
        Row(
            {**_keys(dims, row), "currency": row.currency},
            int(row.value),
            extra={"orders": int(row.orders)},
        )
        for row in fetched
    ]
    rows = _ordered(rows)
    currencies = sorted({row.currency for row in fetched})
    orders = sum(int(row.orders) for row in fetched)
    if len(currencies) > 1:
        return Result(
            metric, period, None, None, None, rows, sql, dims, filters,
            extra={"orders": orders, "currencies": currencies},
            note="several currencies: see the rows, one per currency",
        )  # fmt: skip
    total = sum(int(row.value) for row in fetched)
    return Result(
        metric, period, total, None, None, rows if dims else [], sql, dims, filters,
        currency=currencies[0] if currencies else None, extra={"orders": orders},
    )  # fmt: skip


def _fold_duration(metric, period, dims, filters, fetched, sql) -> Result:  # type: ignore[no-untyped-def]
    # Each row's duration computed once, in seconds, never negative (None: still waiting);
    # the whole and every group are folded from those. The rows are read once, in order.
    width = len(dims)
    measured: list[float | None] = []
    groups: dict[Any, list[float | None]] = {}
    for row in fetched:
        ms = row[width]
        seconds = None if ms is None else ms / 1000 if ms > 0 else 0.0
        measured.append(seconds)
        if width:
            key = row[0] if width == 1 else tuple(row[:width])
            found = groups.get(key)
            if found is None:
                groups[key] = [seconds]
            else:
                found.append(seconds)
    named: dict[tuple[str | None, ...], list[float | None]] = {}
    for key, members in groups.items():
        values = (key,) if width == 1 else key
        named.setdefault(tuple(_text(value) for value in values), []).extend(members)
    rows = [
        Row(dict(zip(dims, key, strict=True)), *_row_durations(metric, members))
        for key, members in named.items()
    ]
    value, extra = _durations(metric, measured)
    rows = _ordered(rows) if dims else []
    return Result(metric, period, value, None, None, rows, sql, dims, filters, extra=extra)


def _row_durations(metric: Metric, durations: list[float | None]) -> tuple[Any, ...]:
    value, extra = _durations(metric, durations)
    return value, None, None, extra


def _durations(
    metric: Metric, durations: list[float | None]
) -> tuple[float | None, dict[str, Any]]:
    seconds = sorted(s for s in durations if s is not None)
    waiting = len(durations) - len(seconds)
    bands: dict[str, int] = {}
    lower = 0.0
    for label, upper in metric.bands:
        if metric.cumulative_bands:  # at or under `upper`
            bands[label] = len(seconds) if upper is None else bisect_right(seconds, upper)
        else:  # from `lower` up to (not including) `upper`
            below = bisect_left(seconds, lower)
            bands[label] = (len(seconds) if upper is None else bisect_left(seconds, upper)) - below
            lower = upper or lower
    p50 = nearest_rank(seconds, 50)
    extra: dict[str, Any] = {
        "p50": p50,
        "p90": nearest_rank(seconds, 90),
        "answered": len(seconds),
        "waiting": waiting,
        "of": len(durations),
        "bands": bands,
    }
    return p50, extra


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: the smallest value with ≥ percent % of values at or below."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


_FOLDS = {
    "count": _fold_count,
    "snapshot": _fold_count,
    "ratio": _fold_ratio,
    "money": _fold_money,
    "duration": _fold_duration,
}


# --- sources ------------------------------------------------------------------------------------
# Each returns one row per counted thing, with `store_id`, its dimension and filter columns
# (labelled by name) and its measures. Instants are compared as bound parameters, never with
# SQL date arithmetic, which SQLite and PostgreSQL spell differently.


def _staff_name(staff_id: Any) -> Any:
    """A member of staff's name, as a column computed only when a query reads it (a split by
    associate): an outer join would be probed for every row counted."""
    return select(Staff.name).where(Staff.id == staff_id).scalar_subquery()


_LEAD_DIMENSIONS = {
    "source": "source",
    "segment": "segment",
    "stage": "stage",
    "associate": "associate (owner)",
}


def _lead_columns() -> list[Any]:
    return [
        Lead.store_id.label("store_id"),
        Lead.id.label("lead_id"),
        Lead.source.label("source"),
        Lead.segment.label("segment"),
        Lead.stage.label("stage"),
        _staff_name(Lead.owner_id).label("associate"),
    ]


def _cohort(window: Window, *measures: Any) -> Select[Any]:
    """Leads created in the window (the cohort), one row each, with the measures asked for."""
    return (
        select(*_lead_columns(), *measures)
        .select_from(Lead)
        .where(Lead.created_at >= window.start, Lead.created_at < window.end)
    )


def _exists(column: Any, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS over one indexed column (not `SELECT *`), so SQLite answers from the index."""
    return select(column).where(*where).exists()


def _hit(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0).label("hit")


def _event_after_arrival(window: Window, *kinds: str) -> ColumnElement[bool]:
    return _exists(
        Event.lead_id,
        Event.lead_id == Lead.id,
        Event.kind.in_(kinds),
        Event.occurred_at >= Lead.created_at,
        Event.occurred_at < window.now,
    )


def leads_created(window: Window) -> Select[Any]:
    return _cohort(window)


def conversion(window: Window) -> Select[Any]:
    bought = _exists(
        Purchase.lead_id,
        Purchase.lead_id == Lead.id,
        Purchase.purchased_at >= Lead.created_at,
        Purchase.purchased_at < window.now,
    )
    return _cohort(window, _hit(bought))


def engaged(window: Window) -> Select[Any]:
    kinds = (EventKind.REPLY, EventKind.INBOUND_MESSAGE, EventKind.EMAIL_CLICKED)
    return _cohort(window, _hit(_event_after_arrival(window, *kinds)))


def appointment_set(window: Window) -> Select[Any]:
    return _cohort(window, _hit(_event_after_arrival(window, EventKind.APPOINTMENT_BOOKED)))


def visited(window: Window) -> Select[Any]:
    return _cohort(window, _hit(_event_after_arrival(window, EventKind.STORE_VISIT)))


def _first(column: Any, *where: ColumnElement[bool]) -> Any:
    return select(func.min(column)).where(*where).scalar_subquery()


# The instants below are kept on the lead row over its whole history (db/instants.py): the
# first of a lead's rows before `now` is its first instant when that came before now, and
# there is none otherwise, so a cohort is read from the lead index alone.


def _before_now(window: Window, first: Any) -> Any:
    """A lead's first instant as of `window.now`: NULL when it had not come yet."""
    return case((first < window.now, first))


def speed_automated(window: Window) -> Select[Any]:
    """From arrival to the first message Facet sent (min touch.sent_at, staff notices not
    counted), before now."""
    first_sent = _before_now(window, Lead.first_message_at)
    return _cohort(window, Lead.created_at.label("began"), first_sent.label("ended"))


def speed_human(window: Window) -> Select[Any]:
    """From arrival to the first task about the lead a person answered (acknowledged, else
    completed), before now."""
    first_answer = _before_now(window, Lead.first_contact_at)
    return _cohort(window, Lead.created_at.label("began"), first_answer.label("ended"))


def time_to_purchase(window: Window) -> Select[Any]:
    """From arrival to the first purchase at or after it, before now. A lead whose first
    purchase came before it arrived (an import of old sales) is read from its purchases."""
    first = Lead.first_purchase_at
    counted = _first(
        Purchase.purchased_at,
        Purchase.lead_id == Lead.id,
        Purchase.purchased_at >= Lead.created_at,
        Purchase.purchased_at < window.now,
    )
    bought = case(
        (first >= Lead.created_at, _before_now(window, first)),
        (first < Lead.created_at, counted),
    )
    return _cohort(window, Lead.created_at.label("began"), bought.label("ended"))


def _lead_events(window: Window, kind: str, *measures: Any) -> Select[Any]:
    # the event's own store_id names the branch, so (store_id, kind, occurred_at) finds them
    columns = [Event.store_id.label("store_id"), *_lead_columns()[1:]]
    return (
        select(*columns, *measures)
        .select_from(Event)
        .join(Lead, Lead.id == Event.lead_id)
        .where(
            Event.kind == kind, Event.occurred_at >= window.start, Event.occurred_at < window.end
        )
    )


def appointments_booked(window: Window) -> Select[Any]:
    return _lead_events(window, EventKind.APPOINTMENT_BOOKED)


def show_rate(window: Window) -> Select[Any]:
    Visit = aliased(Event, name="visit")
    showed = _exists(
        Visit.lead_id,
        Visit.lead_id == Event.lead_id,
        Visit.kind == EventKind.STORE_VISIT,
        Visit.occurred_at >= Event.occurred_at,
        Visit.occurred_at < window.now,
    )
    return _lead_events(window, EventKind.APPOINTMENT_BOOKED, _hit(showed))


def opt_outs(window: Window) -> Select[Any]:
    return _lead_events(window, EventKind.OPTED_OUT)


def _attributed_sequence() -> Any:
    """The journey a sale is credited to: the lead's latest enrollment that began before the
    sale and was still running when it happened (last touch)."""
    return (
        select(Enrollment.sequence_key)
        .where(
            Enrollment.lead_id == Purchase.lead_id,
            Enrollment.started_at <= Purchase.purchased_at,
            or_(Enrollment.ended_at.is_(None), Enrollment.ended_at >= Purchase.purchased_at),
        )
        .order_by(Enrollment.started_at.desc(), Enrollment.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _purchases(window: Window) -> Select[Any]:
    return (
        select(
            Purchase.store_id.label("store_id"),
            Purchase.lead_id.label("lead_id"),
            Lead.source.label("source"),
            Lead.segment.label("segment"),
            _staff_name(Purchase.associate_id).label("associate"),
            _attributed_sequence().label("sequence"),
            Purchase.amount_minor.label("amount"),
            Purchase.currency.label("currency"),
        )
        .select_from(Purchase)
        .join(Lead, Lead.id == Purchase.lead_id)
        .where(Purchase.purchased_at >= window.start, Purchase.purchased_at < window.end)
    )


def revenue(window: Window) -> Select[Any]:
    return _purchases(window)


def attributed_revenue(window: Window) -> Select[Any]:
    facts = _purchases(window).subquery("sales")
    return select(*facts.c).where(facts.c.sequence.is_not(None))


def _touches(window: Window, *measures: Any, on: Any = None) -> Select[Any]:
    """Messages to leads (not staff notices) whose `on` instant (default: sent) is in the window."""
    at = Touch.sent_at if on is None else on
    return (
        select(
            Touch.store_id.label("store_id"),
            Touch.lead_id.label("lead_id"),
            Touch.channel.label("channel"),
            Touch.status.label("status"),
            Touch.reason.label("reason"),
            Touch.step_id.label("step"),
            Touch.sequence_key.label("sequence"),
            *measures,
        )
        .select_from(Touch)
        .where(Touch.staff_id.is_(None), at >= window.start, at < window.end)
    )


_REACHED = (TouchStatus.DELIVERED, TouchStatus.OPENED, TouchStatus.CLICKED, TouchStatus.REPLIED)
_FAILED = (TouchStatus.FAILED, TouchStatus.BOUNCED, TouchStatus.UNDELIVERED)


def messages_sent(window: Window) -> Select[Any]:
    return _touches(window)


def delivery_rate(window: Window) -> Select[Any]:
    return _touches(window, _hit(Touch.status.in_(_REACHED)))


def failure_rate(window: Window) -> Select[Any]:
    return _touches(window, _hit(Touch.status.in_(_FAILED)))


def reply_rate(window: Window) -> Select[Any]:
    return _touches(window, _hit(Touch.status == TouchStatus.REPLIED))


def suppressed(window: Window) -> Select[Any]:
    facts = _touches(window, on=Touch.created_at).subquery("touches")
    return select(*facts.c).where(facts.c.status == TouchStatus.SUPPRESSED.value)


def journeys_started(window: Window) -> Select[Any]:
    stmt = (
        select(
            Lead.store_id.label("store_id"),
            Enrollment.lead_id.label("lead_id"),
            Enrollment.sequence_key.label("sequence"),
            Enrollment.status.label("status"),
            Enrollment.outcome.label("outcome"),
            Lead.segment.label("segment"),
            Lead.source.label("source"),
        )
        .select_from(Enrollment)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .where(Enrollment.started_at >= window.start, Enrollment.started_at < window.end)
    )
    return stmt  # type: ignore[return-value]


def _tasks(*where: ColumnElement[bool], measures: Sequence[Any] = ()) -> Select[Any]:
    return (
        select(
            Task.store_id.label("store_id"),
            Task.lead_id.label("lead_id"),
            _staff_name(Task.assignee_id).label("associate"),
            Task.kind.label("kind"),
            Task.status.label("status"),
            Task.role_needed.label("role"),
            *measures,
        )
        .select_from(Task)
        .where(*where)
    )


def tasks_created(window: Window) -> Select[Any]:
    return _tasks(Task.created_at >= window.start, Task.created_at < window.end)


def task_sla_met(window: Window) -> Select[Any]:
    answered = func.coalesce(Task.acknowledged_at, Task.completed_at)
    met = and_(answered.is_not(None), answered <= Task.sla_due_at, answered < window.now)
    return _tasks(
        Task.created_at >= window.start,
        Task.created_at < window.end,
        Task.sla_due_at.is_not(None),
        measures=[_hit(met)],
    )


_OPEN_TASK = (TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED)


def open_tasks(window: Window) -> Select[Any]:
    return _tasks(Task.status.in_(_OPEN_TASK), Task.created_at < window.now)


def sla_breaches_open(window: Window) -> Select[Any]:
    return _tasks(
        Task.status == TaskStatus.OPEN,
        Task.acknowledged_at.is_(None),
        Task.sla_due_at < window.now,
        Task.created_at < window.now,
    )


def _quiet_since(window: Window) -> ColumnElement[datetime]:
    """When the lead last engaged up to now or, never having engaged by then, when it arrived.

    Read off the lead row (`last_engaged_at`, its latest engagement over its whole history:
    db/instants.py) unless that came after now (a period in the past), when the lead's
    events up to now are asked, one index seek."""
    last = Lead.last_engaged_at
    up_to_now = (
        select(func.max(Event.occurred_at))
        .where(
            Event.lead_id == Lead.id,
            Event.occurred_at <= window.now,
            Event.kind.in_(sorted(ENGAGEMENT_KINDS)),
        )
        .scalar_subquery()
    )
    return func.coalesce(case((last > window.now, up_to_now), else_=last), Lead.created_at)


def going_cold(window: Window) -> Select[Any]:
    """Leads in an active journey, not yet buyers, silent for their segment's days: quiet
    (last engaged, or arrived) since at least that many days before now."""
    # In an active journey that had begun by now: the earliest running journey's start, kept
    # on the lead row (db/instants.py), is at or before now.
    open_leads = (
        select(*_lead_columns(), _quiet_since(window).label("quiet_since"))
        .select_from(Lead)
        .where(
            Lead.in_journey_since <= window.now,
            Lead.created_at <= window.now,
            Lead.stage.not_in((Stage.PURCHASE, Stage.POST_SALE)),
        )
        .subquery("open_leads")
    )
    segment, quiet = open_leads.c.segment, open_leads.c.quiet_since
    # One comparison per segment (a CASE of instants would be text to PostgreSQL once the
    # SQL is written out with its values for display).
    known = sorted(COLD_AFTER_DAYS.items())
    default = window.now - timedelta(days=DEFAULT_COLD_AFTER_DAYS)
    silent = or_(
        *[
            and_(segment == name, quiet <= window.now - timedelta(days=days))
            for name, days in known
        ],
        and_(or_(segment.is_(None), segment.not_in([s for s, _ in known])), quiet <= default),
    )
    return select(*[column for column in open_leads.c if column is not quiet]).where(silent)


def pipeline(window: Window) -> Select[Any]:
    """Open leads (not yet buyers) that arrived before now."""
    return (
        select(*_lead_columns(), Lead.budget_band.label("budget"))
        .select_from(Lead)
        .where(
            Lead.created_at < window.now,
            not_(Lead.stage.in_((Stage.PURCHASE, Stage.POST_SALE))),
        )
    )


# --- the registry ---------------------------------------------------------------------------------

MINUTE = 60.0
WEEK = 7 * 86_400.0
SLA_BANDS: tuple[tuple[str, float | None], ...] = (
    ("0–5 min", 5 * MINUTE),
    ("5–15 min", 15 * MINUTE),
    ("15–60 min", 60 * MINUTE),
    ("60+ min", None),
)
PURCHASE_WEEKS: tuple[tuple[str, float | None], ...] = tuple(
    (f"by week {n}", n * WEEK) for n in (1, 2, 4, 8, 13)
)
_MESSAGE_DIMENSIONS = {
    "channel": "channel",
    "status": "status",
    "reason": "reason",
    "step": "step",
    "sequence": "sequence",
}
_TASK_DIMENSIONS = {
    "associate": "associate",
    "kind": "task kind",
    "status": "status",
    "role": "role",
}
_SALE_DIMENSIONS = {
    "source": "source",
    "segment": "segment",
    "associate": "associate",
    "sequence": "sequence",
}

_ALL = [
    Metric(
        "leads_created", "New leads", "count", "leads",
        "Leads whose record was created in the period (one person counts once: merged records "
        "are one lead), by where they first came from.",
        leads_created,
        synonyms=("leads", "new leads", "lead inflow", "inflow", "enquiries", "how many leads",
                  "leads came", "leads came in", "new customers", "prospects"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, panel="inflow",
    ),
    Metric(
        "speed_to_lead_automated", "Speed to lead (automated)", "duration", "seconds",
        "For leads created in the period, the time from arrival to the first message Facet sent "
        "them (p50 and p90, nearest rank); leads not messaged yet are counted as waiting.",
        speed_automated,
        synonyms=("speed to lead", "first message", "time to first message", "response time",
                  "first response", "how fast", "time to first reply", "automated response"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, bands=SLA_BANDS,
        higher_is_better=False, panel="speed",
    ),
    Metric(
        "speed_to_lead_human", "Speed to lead (a person)", "duration", "seconds",
        "For leads created in the period, the time from arrival to the first task about them "
        "that a person acknowledged (an automated message never counts as contact).",
        speed_human,
        synonyms=("human response", "time to first contact", "first contact", "staff response",
                  "how fast did staff", "time to call", "human speed to lead"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, bands=SLA_BANDS,
        higher_is_better=False, panel="speed",
    ),
    Metric(
        "engaged", "Engaged", "ratio", "%",
        "Of leads created in the period, the share who replied, wrote to us or clicked a link "
        "after arriving (up to now).",
        engaged,
        synonyms=("engaged", "engagement rate", "replied leads", "engaged leads"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, panel="funnel",
    ),
    Metric(
        "appointment_set", "Booked an appointment", "ratio", "%",
        "Of leads created in the period, the share with an appointment booked after arriving "
        "(up to now).",
        appointment_set,
        synonyms=("appointment rate", "booking rate", "booked an appointment"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, panel="funnel",
    ),
    Metric(
        "visited", "Visited the store", "ratio", "%",
        "Of leads created in the period, the share with a store visit after arriving (up to "
        "now).",
        visited,
        synonyms=("visit rate", "store visits rate", "visited the store", "walk in rate"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, panel="funnel",
    ),
    Metric(
        "conversion", "Conversion", "ratio", "%",
        "Of leads created in the period, the share who bought at least once after arriving "
        "(up to now): the cohort's conversion.",
        conversion,
        synonyms=("conversion", "conversion rate", "converted", "close rate", "closing ratio",
                  "how many bought", "buyers", "convert"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, panel="funnel",
    ),
    Metric(
        "time_to_purchase", "Time to first purchase", "duration", "seconds",
        "For leads created in the period, the time from arrival to their first purchase; the "
        "bands are the cumulative share of the cohort that had bought by week 1, 2, 4, 8 and 13.",
        time_to_purchase,
        synonyms=("time to purchase", "conversion curve", "days to buy", "how long to buy",
                  "time to close"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, bands=PURCHASE_WEEKS,
        cumulative_bands=True, higher_is_better=False, panel="cohort_curve",
    ),
    Metric(
        "appointments_booked", "Appointments booked", "count", "appointments",
        "Appointment bookings recorded in the period (when they were booked, not their slot).",
        appointments_booked,
        synonyms=("appointments", "appointments booked", "bookings", "consultations",
                  "appointment"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, panel="appointments",
    ),
    Metric(
        "show_rate", "Show rate", "ratio", "%",
        "Of appointments booked in the period, the share whose lead visited the store at or "
        "after booking (up to now); the slot's time is not recorded as a column yet, so this "
        "counts any later visit.",
        show_rate,
        synonyms=("show rate", "no shows", "no-shows", "showed up", "attendance"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, panel="appointments",
    ),
    Metric(
        "revenue", "Revenue", "money", "money",
        "The sum of purchases made in the period (minor units, per currency), with the number "
        "of orders.",
        revenue,
        synonyms=("revenue", "sales", "turnover", "takings", "how much did we sell",
                  "money made", "total sales"),
        dimensions=_SALE_DIMENSIONS, filters=_SALE_DIMENSIONS, panel="revenue",
    ),
    Metric(
        "attributed_revenue", "Revenue from journeys", "money", "money",
        "The sum of purchases made in the period by leads in a journey that had begun before "
        "the sale and was still running at it (last touch), credited to that journey.",
        attributed_revenue,
        synonyms=("attributed revenue", "revenue by sequence", "journey revenue",
                  "revenue from journeys", "sequence revenue", "revenue from sequences"),
        dimensions=_SALE_DIMENSIONS, filters=_SALE_DIMENSIONS, panel="revenue",
    ),
    Metric(
        "journeys_started", "Journeys started", "count", "journeys",
        "Leads enrolled in a sequence in the period, by sequence and how the journey stands "
        "or ended.",
        journeys_started,
        synonyms=("journeys started", "enrollments", "enrolled", "journeys", "entered"),
        dimensions={"sequence": "sequence", "status": "status", "outcome": "outcome",
                    "segment": "segment", "source": "source"},
        filters={"sequence": "sequence", "status": "status", "segment": "segment",
                 "source": "source"},
        panel="journey_steps",
    ),
    Metric(
        "messages_sent", "Messages sent", "count", "messages",
        "Messages to leads that left Facet in the period (task notices to staff excluded), by "
        "where each stands now.",
        messages_sent,
        synonyms=("messages", "messages sent", "sends", "emails sent", "texts sent", "sent"),
        dimensions=_MESSAGE_DIMENSIONS, filters=_MESSAGE_DIMENSIONS, panel="messaging",
    ),
    Metric(
        "delivery_rate", "Delivery rate", "ratio", "%",
        "Of messages sent in the period, the share delivered (or opened, clicked, replied).",
        delivery_rate,
        synonyms=("delivery rate", "delivered", "deliverability"),
        dimensions=_MESSAGE_DIMENSIONS, filters=_MESSAGE_DIMENSIONS, panel="messaging",
    ),
    Metric(
        "failure_rate", "Failed or bounced", "ratio", "%",
        "Of messages sent in the period, the share that failed, bounced or went undelivered.",
        failure_rate,
        synonyms=("failure rate", "bounce rate", "bounced", "failed messages", "failures"),
        dimensions=_MESSAGE_DIMENSIONS, filters=_MESSAGE_DIMENSIONS, higher_is_better=False,
        panel="messaging",
    ),
    Metric(
        "reply_rate", "Reply rate", "ratio", "%",
        "Of messages sent in the period, the share the lead replied to.",
        reply_rate,
        synonyms=("reply rate", "replies", "response rate"),
        dimensions=_MESSAGE_DIMENSIONS, filters=_MESSAGE_DIMENSIONS, panel="journey_steps",
    ),
    Metric(
        "suppressed_messages", "Messages held back", "count", "messages",
        "Messages Facet decided in the period not to send (no consent, quiet hours, frequency "
        "cap, closed WhatsApp window, …), by reason.",
        suppressed,
        synonyms=("suppressed", "suppressed messages", "held back", "not sent", "blocked"),
        dimensions=_MESSAGE_DIMENSIONS, filters=_MESSAGE_DIMENSIONS, higher_is_better=False,
        panel="messaging",
    ),
    Metric(
        "opt_outs", "Opt-outs", "count", "leads",
        "Opt-out events recorded in the period (STOP, unsubscribe links, provider opt-outs).",
        opt_outs,
        synonyms=("opt outs", "opt-outs", "optouts", "unsubscribes", "unsubscribed", "stops"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, higher_is_better=False,
        panel="messaging",
    ),
    Metric(
        "tasks_created", "Tasks", "count", "tasks",
        "Tasks opened for staff in the period, by who they went to.",
        tasks_created,
        synonyms=("tasks", "tasks created", "tasks assigned", "escalations"),
        dimensions=_TASK_DIMENSIONS, filters=_TASK_DIMENSIONS, panel="leaderboard",
    ),
    Metric(
        "task_sla_met", "Tasks answered within SLA", "ratio", "%",
        "Of tasks with an SLA opened in the period, the share acknowledged (or completed) by "
        "their SLA deadline.",
        task_sla_met,
        synonyms=("sla", "within sla", "sla met", "on time", "acknowledged on time"),
        dimensions=_TASK_DIMENSIONS, filters=_TASK_DIMENSIONS, panel="leaderboard",
    ),
    Metric(
        "open_tasks", "Open tasks now", "snapshot", "tasks",
        "Tasks not yet completed or cancelled, as of now.",
        open_tasks,
        synonyms=("open tasks", "pending tasks", "tasks open", "outstanding tasks", "backlog"),
        dimensions=_TASK_DIMENSIONS, filters=_TASK_DIMENSIONS, higher_is_better=False,
        panel="leaderboard",
    ),
    Metric(
        "sla_breaches_open", "SLA breaches open", "snapshot", "tasks",
        "Open tasks not acknowledged and past their SLA deadline, as of now.",
        sla_breaches_open,
        synonyms=("sla breaches", "breaches", "overdue tasks", "late tasks", "missed sla"),
        dimensions=_TASK_DIMENSIONS, filters=_TASK_DIMENSIONS, higher_is_better=False,
        panel="leaderboard",
    ),
    Metric(
        "going_cold", "Going cold now", "snapshot", "leads",
        "Leads in an active journey, not yet buyers, whose last engagement (or arrival) is "
        "older than their segment's going-cold days, as of now.",
        going_cold,
        synonyms=("going cold", "went cold", "gone cold", "cold leads", "going quiet",
                  "silent leads", "stale leads"),
        dimensions=_LEAD_DIMENSIONS, filters=_LEAD_DIMENSIONS, higher_is_better=False,
        panel="going_cold",
    ),
    Metric(
        "pipeline", "Open pipeline", "snapshot", "leads",
        "Leads that have not bought yet, as of now, by segment and stage.",
        pipeline,
        synonyms=("pipeline", "open leads", "open pipeline", "pipeline by segment",
                  "leads in the pipeline"),
        dimensions={**_LEAD_DIMENSIONS, "budget": "budget band"},
        filters={**_LEAD_DIMENSIONS, "budget": "budget band"},
        panel="pipeline",
    ),
    Metric(
        "occasions_upcoming", "Occasions coming up", "snapshot", "occasions",
        "Lead occasions (anniversary, birthday, wedding, proposal) due in the next 45 days.",
        None,
        synonyms=("occasions", "upcoming occasions", "anniversaries", "birthdays"),
        available=False,
        note="Not computed yet: occasion dates are kept inside each lead's JSON record, which "
        "the two databases read differently; this needs its own table first.",
        panel="occasions",
    ),
    Metric(
        "gold_rate_alerts", "Gold-rate alerts", "count", "alerts",
        "Per gold-rate alert: recipients, replies and visits within 7 days, purchases within 30.",
        None,
        synonyms=("gold rate", "gold rate alerts", "gold price alerts"),
        available=False,
        note="Facet does not send gold-rate alerts yet, so there is nothing to count.",
        panel="occasions",
    ),
]  # fmt: skip

METRICS: dict[str, Metric] = {metric.name: metric for metric in _ALL}

# The cohort funnel's stages, in order (panel 3): each a ratio over the same cohort.
FUNNEL = ("engaged", "appointment_set", "visited", "conversion")

# The panels of the reference (§1) and the metrics each draws.
PANELS: dict[str, tuple[str, ...]] = {}
for _metric in _ALL:
    PANELS.setdefault(_metric.panel, ())
    PANELS[_metric.panel] += (_metric.name,)

# The KPI strip: one number per panel it names.
KPI_STRIP = (
    "leads_created",
    "speed_to_lead_automated",
    "conversion",
    "attributed_revenue",
    "sla_breaches_open",
    "going_cold",
)


def format_value(metric: Metric, value: float | int | None, currency: str | None = None) -> str:
    """How a value reads to a person: '9.2 %', '1,204 leads', '₹ 12,500.00', '4 min 10 s'."""
    if value is None:
        return "no data"
    if metric.kind == "ratio":
        return f"{value * 100:.1f} %"
    if metric.kind == "money":
        return f"{currency or ''} {value / 100:,.2f}".strip()
    if metric.kind == "duration":
        return format_seconds(float(value))
    return counted(int(value), metric.unit)


def counted(number: int, unit: str) -> str:
    """'1 lead', '2 leads', '1 reply': a count reads as a person would say it."""
    if number != 1 or not unit.endswith("s"):
        return f"{number:,} {unit}"
    singular = unit[:-3] + "y" if unit.endswith("ies") else unit[:-1]
    return f"{number:,} {singular}"


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    if seconds < 2 * 86_400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    return f"{seconds / 86_400:.1f} days"
