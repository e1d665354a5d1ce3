"""The owner's dashboard: twelve panels, each a table of numbers (and the chart drawn from
exactly those numbers), laid out from the metric registry.

No number is defined here: every cell is a registry metric (`insight.registry`) evaluated for
the branches and the period, split by the registry's own dimensions. This module only decides
how each panel lays its metrics out as rows and columns. A panel whose metric has no data yet
says so with the registry's note.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from insight.period import Period
from insight.registry import (
    FUNNEL,
    KPI_STRIP,
    METRICS,
    NONE_LABEL,
    Result,
    Row,
    evaluate,
    format_seconds,
    format_value,
)

Cell = str | int | float | None
DELIVERED = {"delivered", "opened", "clicked", "replied"}
FAILED = {"failed", "bounced", "undelivered"}


@dataclass(frozen=True)
class Scope:
    """Which branches, which period, and the instant "now" is (snapshots read it)."""

    store_ids: tuple[uuid.UUID, ...]
    period: Period
    now: datetime

    def before(self) -> Scope:
        """The same branches over the equal period before."""
        return Scope(self.store_ids, self.period.previous(), self.period.start)


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]]

    def column(self, name: str) -> list[Cell]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


@dataclass
class Panel:
    """One dashboard panel. `chart` is drawn from `table` (labels from its first column, one
    dataset per column named in `series`, or per row when `transpose`), so the chart never
    shows a number its table lacks."""

    key: str
    number: int
    title: str
    definition: str
    table: Table
    chart_type: str = "bar"
    series: list[str] = field(default_factory=list)
    stacked: bool = False
    horizontal: bool = False
    transpose: bool = False
    figures: list[tuple[str, str]] = field(default_factory=list)
    missing: str | None = None  # a part of this panel whose data does not exist yet
    extra: Table | None = None  # a second table (no chart)
    sql: list[str] = field(default_factory=list)  # the statements that ran

    @property
    def chart(self) -> dict[str, Any] | None:
        if not self.series or not self.table.rows:
            return None
        indices = [self.table.columns.index(name) for name in self.series]
        if self.transpose:
            labels = list(self.series)
            datasets = [
                {"label": str(row[0]), "data": [row[i] for i in indices]} for row in self.table.rows
            ]
        else:
            labels = [str(row[0]) for row in self.table.rows]
            datasets = [
                {"label": self.table.columns[i], "data": [row[i] for row in self.table.rows]}
                for i in indices
            ]
        return {
            "type": self.chart_type,
            "labels": labels,
            "datasets": datasets,
            "stacked": self.stacked,
            "horizontal": self.horizontal,
        }


# --- reading the registry -------------------------------------------------------------------


def _run(session: Session, scope: Scope, name: str, *dims: str) -> Result:
    return evaluate(
        session, METRICS[name], scope.period, store_ids=scope.store_ids, dimensions=dims,
        now=scope.now,
    )  # fmt: skip


def _key(row: Row, dim: str) -> str:
    value = row.keys.get(dim)
    return NONE_LABEL if value is None else value


def _pct(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _money(minor: int | float | None) -> float | None:
    return None if minor is None else round(minor / 100, 2)


def _definition(*names: str) -> str:
    return " ".join(METRICS[name].definition for name in names)


def _crosstab(
    result: Result, row_dim: str, col_dim: str, order: Sequence[str] | None = None
) -> Table:
    """Rows by one dimension, a column per value of the other, and a total."""
    cells: dict[tuple[str, str], int] = {}
    for row in result.rows:
        cells[(_key(row, row_dim), _key(row, col_dim))] = int(row.value or 0)
    columns = list(order) if order else sorted({c for _, c in cells})
    rows = sorted({r for r, _ in cells})
    return Table(
        [METRICS[result.metric.name].dimensions[row_dim].capitalize(), *columns, "Total"],
        [
            [
                r,
                *[cells.get((r, c), 0) for c in columns],
                sum(cells.get((r, c), 0) for c in columns),
            ]
            for r in rows
        ],
    )


# --- the twelve panels ----------------------------------------------------------------------


def lead_inflow(session: Session, scope: Scope) -> Panel:
    result = _run(session, scope, "leads_created", "source", "segment")
    table = _crosstab(result, "source", "segment")
    return Panel(
        "lead_inflow", 1, "Lead inflow", _definition("leads_created"), table,
        series=table.columns[1:-1], stacked=True,
        figures=[("New leads", str(result.value or 0))], sql=[result.sql],
    )  # fmt: skip


def speed_to_lead(session: Session, scope: Scope) -> Panel:
    auto = _run(session, scope, "speed_to_lead_automated")
    human = _run(session, scope, "speed_to_lead_human")
    bands = [label for label, _ in METRICS["speed_to_lead_automated"].bands]
    table = Table(
        ["Band", "Automated", "Human"],
        [[b, auto.extra["bands"].get(b, 0), human.extra["bands"].get(b, 0)] for b in bands],
    )

    def took(value: float | None) -> str:
        return "—" if value is None else format_seconds(value)

    return Panel(
        "speed_to_lead", 2, "Speed to lead",
        _definition("speed_to_lead_automated", "speed_to_lead_human"), table,
        series=["Automated", "Human"],
        figures=[
            ("Automated p50", took(auto.extra.get("p50"))),
            ("Automated p90", took(auto.extra.get("p90"))),
            ("Human p50", took(human.extra.get("p50"))),
            ("Human p90", took(human.extra.get("p90"))),
            ("No message yet", str(auto.extra.get("waiting", 0))),
            ("No person yet", str(human.extra.get("waiting", 0))),
        ],
        sql=[auto.sql, human.sql],
    )  # fmt: skip


def funnel(session: Session, scope: Scope) -> Panel:
    arrived = _run(session, scope, "leads_created")
    stages = [_run(session, scope, name) for name in FUNNEL]
    cohort = int(arrived.value or 0)
    rows: list[list[Cell]] = [["Arrived", cohort, 100.0 if cohort else None]]
    rows += [[r.metric.label, r.numerator or 0, _pct(r.value)] for r in stages]
    return Panel(
        "funnel", 3, "Funnel (cohort)", _definition(*FUNNEL),
        Table(["Stage", "Leads", "% of cohort"], rows), series=["Leads"], horizontal=True,
        sql=[arrived.sql, *[r.sql for r in stages]],
    )  # fmt: skip


def _months(period: Period) -> list[date]:
    zone = ZoneInfo(period.zone)
    first = period.start.astimezone(zone).date().replace(day=1)
    last = (period.end - timedelta(seconds=1)).astimezone(zone).date().replace(day=1)
    months = []
    while first <= last:
        months.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return months[-6:]


def cohort_curves(session: Session, scope: Scope) -> Panel:
    bands = [label for label, _ in METRICS["time_to_purchase"].bands]
    columns = [f"{label.capitalize()} %" for label in bands]
    rows: list[list[Cell]] = []
    sql = []
    for month in _months(scope.period):
        following = (month + timedelta(days=32)).replace(day=1)
        cohort = Scope(
            scope.store_ids, Period.of_days(month, following, scope.period.zone), scope.now
        )
        result = _run(session, cohort, "time_to_purchase")
        total = int(result.extra.get("of", 0))
        share = [
            round(100 * result.extra["bands"].get(b, 0) / total, 1) if total else None
            for b in bands
        ]
        rows.append([month.strftime("%b %Y"), total, *share])
        sql.append(result.sql)
    return Panel(
        "cohort_curves", 4, "Cohort conversion curves",
        "For each month of arrival the period touches (up to six): "
        + _definition("time_to_purchase"),
        Table(["Month", "Leads", *columns], rows), chart_type="line", series=columns,
        transpose=True, sql=sql,
    )  # fmt: skip


def appointments(session: Session, scope: Scope) -> Panel:
    booked = _run(session, scope, "appointments_booked")
    shows = _run(session, scope, "show_rate")
    came, of = shows.numerator or 0, shows.denominator or 0
    table = Table(
        ["Appointments", "Count"],
        [["Booked", int(booked.value or 0)], ["Visited", came], ["Not visited (yet)", of - came]],
    )
    return Panel(
        "appointments", 5, "Appointments and show rate",
        _definition("appointments_booked", "show_rate"), table, series=["Count"],
        figures=[("Show rate", format_value(shows.metric, shows.value))],
        sql=[booked.sql, shows.sql],
    )  # fmt: skip


def revenue(session: Session, scope: Scope) -> Panel:
    credited = _run(session, scope, "attributed_revenue", "sequence")
    every = _run(session, scope, "revenue")
    rows: list[list[Cell]] = [
        [
            _key(row, "sequence"),
            row.keys.get("currency"),
            row.extra.get("orders", 0),
            _money(row.value),
            _money((row.value or 0) / max(1, row.extra.get("orders", 1))),
        ]
        for row in credited.rows
    ]
    total = (
        format_value(every.metric, every.value, every.currency)
        if every.value is not None
        else (every.note or "0")
    )
    return Panel(
        "revenue", 6, "Revenue attributed", _definition("attributed_revenue"),
        Table(["Sequence", "Currency", "Orders", "Revenue", "Average order"], rows),
        series=["Revenue"],
        figures=[("All sales", total), ("Orders", str(every.extra.get("orders", 0)))],
        sql=[credited.sql, every.sql],
    )  # fmt: skip


def journeys(session: Session, scope: Scope) -> Panel:
    sent = _run(session, scope, "messages_sent", "sequence", "status")
    held = _run(session, scope, "suppressed_messages", "sequence")
    columns = ["Sent", "Delivered", "Replied", "Failed", "Held back"]
    counts: dict[str, dict[str, int]] = {}
    for row in sent.rows:
        line = counts.setdefault(_key(row, "sequence"), dict.fromkeys(columns, 0))
        status, n = row.keys.get("status") or "", int(row.value or 0)
        line["Sent"] += n
        line["Delivered"] += n if status in DELIVERED else 0
        line["Replied"] += n if status == "replied" else 0
        line["Failed"] += n if status in FAILED else 0
    for row in held.rows:
        counts.setdefault(_key(row, "sequence"), dict.fromkeys(columns, 0))["Held back"] += int(
            row.value or 0
        )
    return Panel(
        "journeys", 7, "Journey step statistics",
        _definition("messages_sent", "suppressed_messages")
        + " Each sequence's Results page has them per version and step.",
        Table(["Sequence", *columns], [[k, *counts[k].values()] for k in sorted(counts)]),
        series=["Sent", "Delivered", "Replied"], sql=[sent.sql, held.sql],
    )  # fmt: skip


def leaderboard(session: Session, scope: Scope) -> Panel:
    parts = {
        "tasks": _run(session, scope, "tasks_created", "associate"),
        "sla": _run(session, scope, "task_sla_met", "associate"),
        "breaches": _run(session, scope, "sla_breaches_open", "associate"),
        "sales": _run(session, scope, "revenue", "associate"),
        "owned": _run(session, scope, "conversion", "associate"),
    }
    people: dict[str, dict[str, Cell]] = {}
    for part, result in parts.items():
        for row in result.rows:
            line = people.setdefault(_key(row, "associate"), {})
            if part == "sla":
                line["sla"] = _pct(row.value)
            elif part == "sales":
                line["orders"] = int(row.extra.get("orders", 0)) + int(line.get("orders") or 0)
                line["revenue"] = (_money(row.value) or 0) + float(line.get("revenue") or 0)
            elif part == "owned":
                line["owned"], line["close"] = row.denominator, _pct(row.value)
            else:
                line[part] = int(row.value or 0)
    columns = [
        "Leads owned",
        "Tasks",
        "% in SLA",
        "Open breaches",
        "Orders",
        "Revenue",
        "Close rate %",
    ]
    fields = ["owned", "tasks", "sla", "breaches", "orders", "revenue", "close"]
    return Panel(
        "leaderboard", 8, "Associate leaderboard",
        _definition("tasks_created", "task_sla_met", "sla_breaches_open", "revenue", "conversion"),
        Table(
            ["Staff", *columns],
            [[name, *[people[name].get(f) for f in fields]] for name in sorted(people)],
        ),
        series=["Tasks", "Open breaches", "Orders"], sql=[r.sql for r in parts.values()],
    )  # fmt: skip


def going_cold(session: Session, scope: Scope) -> Panel:
    result = _run(session, scope, "going_cold", "segment")
    rows: list[list[Cell]] = [[_key(r, "segment"), int(r.value or 0)] for r in result.rows]
    return Panel(
        "going_cold", 9, "Going cold now", _definition("going_cold"),
        Table(["Segment", "Cold now"], rows),
        series=["Cold now"], figures=[("Cold now", str(result.value or 0))], sql=[result.sql],
    )  # fmt: skip


def pipeline(session: Session, scope: Scope) -> Panel:
    result = _run(session, scope, "pipeline", "segment", "stage")
    stages = ["awareness", "interest", "consideration", "intent"]
    table = _crosstab(result, "segment", "stage", stages)
    return Panel(
        "pipeline", 10, "Pipeline by segment", _definition("pipeline"), table, series=stages,
        stacked=True, figures=[("Open leads", str(result.value or 0))], sql=[result.sql],
    )  # fmt: skip


def messaging_health(session: Session, scope: Scope) -> Panel:
    sent = _run(session, scope, "messages_sent", "channel")
    failed = _run(session, scope, "failure_rate", "channel")
    held = _run(session, scope, "suppressed_messages", "reason")
    outs = _run(session, scope, "opt_outs")
    failures = {_key(r, "channel"): r for r in failed.rows}
    rows: list[list[Cell]] = []
    for row in sent.rows:
        channel = _key(row, "channel")
        miss = failures.get(channel)
        rows.append(
            [
                channel,
                int(row.value or 0),
                miss.numerator if miss else 0,
                _pct(miss.value) if miss else None,
            ]
        )
    total = int(sent.value or 0)
    per_thousand = round(1000 * int(outs.value or 0) / total, 1) if total else None
    return Panel(
        "messaging_health", 11, "Messaging health",
        _definition("messages_sent", "failure_rate", "suppressed_messages", "opt_outs"),
        Table(["Channel", "Sent", "Failed", "Failed %"], rows), series=["Sent", "Failed"],
        extra=Table(
            ["Held back because", "Messages"],
            [[_key(r, "reason"), int(r.value or 0)] for r in held.rows],
        ),
        figures=[
            ("Opt-outs", str(outs.value or 0)),
            ("Opt-outs per 1,000 sent", "—" if per_thousand is None else f"{per_thousand:g}"),
        ],
        missing="WhatsApp template approval status is not recorded in Facet yet.",
        sql=[sent.sql, failed.sql, held.sql, outs.sql],
    )  # fmt: skip


def occasions(session: Session, scope: Scope) -> Panel:
    notes = [METRICS[name] for name in ("occasions_upcoming", "gold_rate_alerts")]
    return Panel(
        "occasions", 12, "Occasions and gold-rate alerts", _definition(*(m.name for m in notes)),
        Table(["Occasion", "Due"], []),
        missing=" ".join(f"{m.label}: {m.note}" for m in notes if not m.available),
    )  # fmt: skip


PANELS: list[Callable[[Session, Scope], Panel]] = [
    lead_inflow, speed_to_lead, funnel, cohort_curves, appointments, revenue, journeys,
    leaderboard, going_cold, pipeline, messaging_health, occasions,
]  # fmt: skip
BY_KEY = {function.__name__: function for function in PANELS}


def all_panels(session: Session, scope: Scope) -> list[Panel]:
    return [build(session, scope) for build in PANELS]


# --- the KPI strip --------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    before: str | None  # the previous equal period's figure; None for a snapshot
    change: str | None  # "+12.0 %", "−3 min 5 s", … ; None when there is nothing to compare
    metric: str

    @property
    def panel(self) -> str:
        """The panel the figure comes from (the strip links to it)."""
        return KPI_PANELS.get(self.metric, "")


KPI_PANELS = {
    "leads_created": "lead_inflow",
    "speed_to_lead_automated": "speed_to_lead",
    "speed_to_lead_human": "speed_to_lead",
    "conversion": "funnel",
    "attributed_revenue": "revenue",
    "sla_breaches_open": "leaderboard",
    "going_cold": "going_cold",
}


def _change(result: Result) -> str | None:
    change, metric = result.change, result.metric
    if change is None or (metric.kind == "money" and result.currency is None):
        return None
    if metric.kind == "ratio":
        return f"{change * 100:+.1f} pts"
    if metric.kind == "duration":
        return ("+" if change >= 0 else "−") + format_seconds(abs(change))
    if metric.kind == "money":
        return f"{change / 100:+,.2f} {result.currency}"
    return f"{int(change):+,}"


def _shown(result: Result) -> str:
    if result.value is None and result.rows and result.metric.kind == "money":
        return ", ".join(
            format_value(result.metric, r.value, r.keys.get("currency")) for r in result.rows
        )
    if result.value is None:
        return "—"
    return format_value(result.metric, result.value, result.currency)


def kpis(session: Session, scope: Scope) -> list[Kpi]:
    """The registry's KPI strip; each figure with the equal period before (snapshots: now)."""
    strip = []
    for name in KPI_STRIP:
        metric = METRICS[name]
        snapshot = metric.kind == "snapshot"
        result = evaluate(
            session, metric, scope.period, store_ids=scope.store_ids, compare=not snapshot,
            now=scope.now,
        )  # fmt: skip
        before = None if result.previous is None else _shown(result.previous)
        strip.append(Kpi(metric.label, _shown(result), before, _change(result), name))
    return strip
