"""The owner's dashboard: twelve panels, each a table of numbers (and the chart drawn from
exactly those numbers), with the sentence that defines it.

Every panel reads the database for a set of branches and a half-open period [start, end) in
UTC. Rows are fetched with plain SQLAlchemy Core selects and counted in Python, so SQLite and
PostgreSQL give the same answer (percentiles included). Snapshot panels ("going cold now",
"pipeline") describe `now`, whatever the period.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.vocabulary import Stage, TaskStatus, TouchStatus
from db.models import Enrollment, Event, Lead, Purchase, Staff, Task, Touch
from insight.window import Window

Cell = str | int | float | None

ENGAGED_KINDS = ("reply", "inbound_message", "email_clicked")
FUNNEL_HORIZON = timedelta(days=90)
ATTRIBUTION_WINDOW = timedelta(days=30)
CURVE_WEEKS = (1, 2, 4, 8, 13)
SLA_BANDS = ((0, 5, "0–5 min"), (5, 15, "5–15 min"), (15, 60, "15–60 min"), (60, None, "60+ min"))
COLD_AFTER = timedelta(days=14)
COLD_LOOKBACK = timedelta(days=60)
COLD_KINDS = (
    "reply",
    "inbound_message",
    "email_clicked",
    "store_visit",
    "appointment_booked",
    "question",
)
OCCASION_AHEAD = timedelta(days=45)
ONE_OFF_OCCASIONS = ("wedding", "proposal")
DELIVERED = (TouchStatus.DELIVERED, TouchStatus.OPENED, TouchStatus.CLICKED, TouchStatus.REPLIED)
FAILED = (TouchStatus.FAILED, TouchStatus.BOUNCED, TouchStatus.UNDELIVERED)
OPEN_STAGES = (Stage.AWARENESS, Stage.INTEREST, Stage.CONSIDERATION, Stage.INTENT)


@dataclass(frozen=True)
class Scope:
    """Which branches, which period, and the instant "now" is (snapshots read it)."""

    store_ids: tuple[uuid.UUID, ...]
    window: Window
    now: datetime
    timezone: str = "UTC"

    def before(self) -> Scope:
        """The same branches over the equal period before."""
        return Scope(self.store_ids, self.window.previous(), self.now, self.timezone)


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
    dataset per column named in `series`), so the two never disagree."""

    key: str
    number: int
    title: str
    definition: str
    table: Table
    chart_type: str = "bar"
    series: list[str] = field(default_factory=list)
    stacked: bool = False
    horizontal: bool = False
    transpose: bool = False  # one dataset per row, labelled by the series columns
    figures: list[tuple[str, str]] = field(default_factory=list)
    missing: str | None = None  # a part of this panel whose data does not exist yet
    extra: Table | None = None  # a second table (no chart), e.g. suppressed sends by reason

    @property
    def chart(self) -> dict[str, Any] | None:
        if not self.series or not self.table.rows:
            return None
        indices = [self.table.columns.index(name) for name in self.series]
        if self.transpose:
            datasets = [
                {"label": str(row[0]), "data": [row[i] for i in indices]} for row in self.table.rows
            ]
            labels = list(self.series)
        else:
            datasets = [
                {"label": self.table.columns[i], "data": [row[i] for row in self.table.rows]}
                for i in indices
            ]
            labels = [str(row[0]) for row in self.table.rows]
        return {
            "type": self.chart_type,
            "labels": labels,
            "datasets": datasets,
            "stacked": self.stacked,
            "horizontal": self.horizontal,
        }


# --- small shared pieces -------------------------------------------------------------------


def _in_window(column: Any, window: Window) -> list[Any]:
    return [column >= window.start, column < window.end]


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def quantile(values: Sequence[float], q: int) -> float | None:
    """The q-th percentile (50, 90) of `values`, by the same method on any database."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(sorted(values), n=100, method="inclusive")[q - 1], 1)


def _label(value: str | None, blank: str = "unknown") -> str:
    return (value or blank).replace("_", " ")


def _cohort(session: Session, scope: Scope) -> list[tuple[uuid.UUID, datetime, uuid.UUID | None]]:
    """(id, created_at, owner) of the leads created in the period, in the branches."""
    rows = session.execute(
        select(Lead.id, Lead.created_at, Lead.owner_id).where(
            Lead.store_id.in_(scope.store_ids), *_in_window(Lead.created_at, scope.window)
        )
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _chunks(ids: Sequence[uuid.UUID], size: int = 500) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _events_of(
    session: Session, lead_ids: Sequence[uuid.UUID], kinds: Sequence[str]
) -> list[tuple[uuid.UUID, str, datetime, dict[str, Any]]]:
    found: list[tuple[uuid.UUID, str, datetime, dict[str, Any]]] = []
    for chunk in _chunks(lead_ids):
        rows = session.execute(
            select(Event.lead_id, Event.kind, Event.occurred_at, Event.payload).where(
                Event.lead_id.in_(chunk), Event.kind.in_(kinds)
            )
        ).all()
        found.extend((row[0], row[1], row[2], row[3]) for row in rows)
    return found


def _earliest(
    into: dict[uuid.UUID, datetime], rows: Iterable[tuple[uuid.UUID, datetime | None]]
) -> None:
    """Keep, per lead, the earliest instant among `rows` (None instants are skipped)."""
    for lead_id, at in rows:
        if at is not None and (lead_id not in into or at < into[lead_id]):
            into[lead_id] = at


def _first_purchases(session: Session, lead_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    first: dict[uuid.UUID, datetime] = {}
    for chunk in _chunks(lead_ids):
        _earliest(
            first,
            session.execute(
                select(Purchase.lead_id, Purchase.purchased_at).where(Purchase.lead_id.in_(chunk))
            ).all(),
        )
    return first


# --- 1. lead inflow ----------------------------------------------------------------------


def lead_inflow(session: Session, scope: Scope) -> Panel:
    rows = session.execute(
        select(Lead.source, Lead.segment).where(
            Lead.store_id.in_(scope.store_ids), *_in_window(Lead.created_at, scope.window)
        )
    ).all()
    counts = Counter((_label(source), _label(segment, "no segment")) for source, segment in rows)
    segments = sorted({segment for _, segment in counts})
    sources = sorted({source for source, _ in counts})
    table = Table(
        ["Source", *segments, "Total"],
        [
            [
                source,
                *[counts[(source, s)] for s in segments],
                sum(counts[(source, s)] for s in segments),
            ]
            for source in sources
        ],
    )
    return Panel(
        "lead_inflow",
        1,
        "Lead inflow",
        "Leads created in the period, by the source that first brought them, split by segment.",
        table,
        series=segments,
        stacked=True,
        figures=[("Leads", str(len(rows)))],
    )


def leads_total(session: Session, scope: Scope) -> int:
    return sum(int(row[-1] or 0) for row in lead_inflow(session, scope).table.rows)


# --- 2. speed to lead --------------------------------------------------------------------


@dataclass(frozen=True)
class Speed:
    automated: list[float]  # minutes from capture to the first message sent
    human: list[float]  # minutes from capture to the first task acknowledged
    cohort: int


def speeds(session: Session, scope: Scope) -> Speed:
    cohort = _cohort(session, scope)
    created = {lead_id: at for lead_id, at, _ in cohort}
    first_sent: dict[uuid.UUID, datetime] = {}
    first_ack: dict[uuid.UUID, datetime] = {}
    ids = list(created)
    for chunk in _chunks(ids):
        _earliest(
            first_sent,
            session.execute(
                select(Touch.lead_id, Touch.sent_at).where(
                    Touch.lead_id.in_(chunk), Touch.staff_id.is_(None)
                )
            ).all(),
        )
        _earliest(
            first_ack,
            session.execute(
                select(Task.lead_id, Task.acknowledged_at).where(Task.lead_id.in_(chunk))
            ).all(),
        )

    def minutes(first: dict[uuid.UUID, datetime]) -> list[float]:
        return sorted(max(0.0, (at - created[i]).total_seconds() / 60) for i, at in first.items())

    return Speed(minutes(first_sent), minutes(first_ack), len(cohort))


def _band(values: list[float], low: int, high: int | None) -> int:
    return sum(1 for v in values if v >= low and (high is None or v < high))


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:g} min"


def speed_to_lead(session: Session, scope: Scope) -> Panel:
    speed = speeds(session, scope)
    table = Table(
        ["Band", "Automated", "Human"],
        [
            [name, _band(speed.automated, lo, hi), _band(speed.human, lo, hi)]
            for lo, hi, name in SLA_BANDS
        ],
    )
    return Panel(
        "speed_to_lead",
        2,
        "Speed to lead",
        "For leads created in the period: minutes from capture to the first automated message "
        "sent, and to the first task a person acknowledged (an automated message is never "
        "counted as human contact).",
        table,
        series=["Automated", "Human"],
        figures=[
            ("Automated p50", _minutes(quantile(speed.automated, 50))),
            ("Automated p90", _minutes(quantile(speed.automated, 90))),
            ("Human p50", _minutes(quantile(speed.human, 50))),
            ("Human p90", _minutes(quantile(speed.human, 90))),
            ("No human contact yet", str(speed.cohort - len(speed.human))),
        ],
    )


# --- 3. funnel -------------------------------------------------------------------------


FUNNEL_STAGES = (
    ("Engaged", ENGAGED_KINDS),
    ("Appointment booked", ("appointment_booked",)),
    ("Store visit", ("store_visit",)),
)


def funnel_counts(session: Session, scope: Scope) -> list[tuple[str, int]]:
    cohort = _cohort(session, scope)
    created = {lead_id: at for lead_id, at, _ in cohort}
    ids = list(created)
    kinds = [kind for _, stage_kinds in FUNNEL_STAGES for kind in stage_kinds]
    reached: dict[str, set[uuid.UUID]] = defaultdict(set)
    for lead_id, kind, at, _payload in _events_of(session, ids, kinds):
        if at - created[lead_id] < FUNNEL_HORIZON:
            for stage, stage_kinds in FUNNEL_STAGES:
                if kind in stage_kinds:
                    reached[stage].add(lead_id)
    bought = {
        lead_id
        for lead_id, at in _first_purchases(session, ids).items()
        if at - created[lead_id] < FUNNEL_HORIZON
    }
    return [
        ("Captured", len(ids)),
        *[(stage, len(reached[stage])) for stage, _ in FUNNEL_STAGES],
        ("Purchased", len(bought)),
    ]


def funnel(session: Session, scope: Scope) -> Panel:
    counts = funnel_counts(session, scope)
    cohort = counts[0][1]
    table = Table(
        ["Stage", "Leads", "% of cohort"],
        [[stage, n, percent(n, cohort)] for stage, n in counts],
    )
    return Panel(
        "funnel",
        3,
        "Funnel (cohort)",
        "Of the leads created in the period, how many reached each stage within 90 days of "
        "capture: engaged (replied, wrote or clicked), booked an appointment, visited, bought.",
        table,
        series=["Leads"],
        horizontal=True,
        figures=[("Conversion", f"{percent(counts[-1][1], cohort) or 0:g} %")],
    )


def conversion(session: Session, scope: Scope) -> float | None:
    counts = funnel_counts(session, scope)
    return percent(counts[-1][1], counts[0][1])


# --- 4. cohort conversion curves -----------------------------------------------------------


def _months(window: Window, zone: ZoneInfo) -> list[date]:
    first = window.start.astimezone(zone).date().replace(day=1)
    last = (window.end - timedelta(seconds=1)).astimezone(zone).date().replace(day=1)
    months = []
    while first <= last:
        months.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return months[-6:]


def cohort_curves(session: Session, scope: Scope) -> Panel:
    zone = ZoneInfo(scope.timezone)
    rows: list[list[Cell]] = []
    weeks = [f"Week {n} %" for n in CURVE_WEEKS]
    for month in _months(scope.window, zone):
        start = datetime.combine(month, datetime.min.time(), zone).astimezone(UTC)
        following = (month + timedelta(days=32)).replace(day=1)
        end = datetime.combine(following, datetime.min.time(), zone).astimezone(UTC)
        cohort = _cohort(session, Scope(scope.store_ids, Window(start, end, ""), scope.now))
        created = {lead_id: at for lead_id, at, _ in cohort}
        first = _first_purchases(session, list(created))
        row: list[Cell] = [month.strftime("%b %Y"), len(created)]
        for n in CURVE_WEEKS:
            bought = sum(1 for i, at in first.items() if at - created[i] < timedelta(weeks=n))
            row.append(percent(bought, len(created)))
        rows.append(row)
    return Panel(
        "cohort_curves",
        4,
        "Cohort conversion curves",
        "For each month of capture (up to six, those the period touches): the share of its "
        "leads with at least one purchase within 1, 2, 4, 8 and 13 weeks of capture.",
        Table(["Month", "Leads", *weeks], rows),
        chart_type="line",
        series=weeks,
        transpose=True,
    )


# --- 5. appointments -------------------------------------------------------------------------


def _slot(payload: dict[str, Any], occurred_at: datetime) -> datetime:
    for key in ("at", "slot", "starts_at"):
        value = payload.get(key) if isinstance(payload, dict) else None
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return occurred_at


def appointments(session: Session, scope: Scope) -> Panel:
    window = scope.window
    booked_rows = session.execute(
        select(Event.lead_id, Event.occurred_at, Event.payload).where(
            Event.store_id.in_(scope.store_ids), Event.kind == "appointment_booked"
        )
    ).all()
    booked = sum(1 for _, at, _ in booked_rows if window.start <= at < window.end)
    slots = [
        (lead_id, _slot(payload, at))
        for lead_id, at, payload in booked_rows
        if window.start <= _slot(payload, at) < window.end
    ]
    visits: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for lead_id, at in session.execute(
        select(Event.lead_id, Event.occurred_at).where(
            Event.store_id.in_(scope.store_ids), Event.kind == "store_visit"
        )
    ):
        visits[lead_id].append(at)
    showed = sum(
        1
        for lead_id, slot in slots
        if any(abs(visit - slot) <= timedelta(days=1) for visit in visits[lead_id])
    )
    table = Table(
        ["Appointments", "Count"],
        [
            ["Booked in the period", booked],
            ["Due in the period", len(slots)],
            ["Showed", showed],
            ["No-show", len(slots) - showed],
        ],
    )
    return Panel(
        "appointments",
        5,
        "Appointments and show rate",
        "Booked: appointments booked in the period. Show rate: of appointments due in the "
        "period, those with a store visit within a day of the slot.",
        table,
        series=["Count"],
        figures=[("Show rate", f"{percent(showed, len(slots)) or 0:g} %")],
    )


# --- 6. revenue attributed -------------------------------------------------------------------


@dataclass(frozen=True)
class Attributed:
    sequence: str | None  # None: no journey or message in the 30 days before
    currency: str
    amount_minor: int
    lead_id: uuid.UUID
    repeat: bool


def attributed_purchases(session: Session, scope: Scope) -> list[Attributed]:
    purchases = session.execute(
        select(Purchase.lead_id, Purchase.amount_minor, Purchase.currency, Purchase.purchased_at)
        .where(
            Purchase.store_id.in_(scope.store_ids), *_in_window(Purchase.purchased_at, scope.window)
        )
        .order_by(Purchase.purchased_at)
    ).all()
    ids = list({row[0] for row in purchases})
    enrollments: dict[uuid.UUID, list[tuple[str, datetime, datetime | None]]] = defaultdict(list)
    touched: dict[uuid.UUID, list[tuple[str, datetime]]] = defaultdict(list)
    earlier: set[uuid.UUID] = set()
    for chunk in _chunks(ids):
        for lead_id, key, started, ended in session.execute(
            select(
                Enrollment.lead_id,
                Enrollment.sequence_key,
                Enrollment.started_at,
                Enrollment.ended_at,
            ).where(Enrollment.lead_id.in_(chunk))
        ):
            enrollments[lead_id].append((key, started, ended))
        for lead_id, key, at in session.execute(
            select(Touch.lead_id, Enrollment.sequence_key, Touch.sent_at)
            .join(Enrollment, Enrollment.id == Touch.enrollment_id)
            .where(Touch.lead_id.in_(chunk), Touch.status.in_(DELIVERED))
        ):
            if at is not None:
                touched[lead_id].append((key, at))
        earlier.update(
            session.scalars(
                select(Purchase.lead_id).where(
                    Purchase.lead_id.in_(chunk), Purchase.purchased_at < scope.window.start
                )
            )
        )
    found: list[Attributed] = []
    seen: set[uuid.UUID] = set()
    for lead_id, amount, currency, at in purchases:
        since = at - ATTRIBUTION_WINDOW
        candidates = [
            (started, key)
            for key, started, ended in enrollments[lead_id]
            if started <= at and (ended is None or ended >= since)
        ] + [(sent, key) for key, sent in touched[lead_id] if since <= sent <= at]
        sequence = max(candidates)[1] if candidates else None
        repeat = lead_id in earlier or lead_id in seen
        seen.add(lead_id)
        found.append(Attributed(sequence, currency, int(amount), lead_id, repeat))
    return found


def _money(minor: int) -> float:
    return round(minor / 100, 2)


def revenue(session: Session, scope: Scope) -> Panel:
    sales = attributed_purchases(session, scope)
    totals: dict[tuple[str, str], list[int]] = defaultdict(list)
    for sale in sales:
        totals[(sale.sequence or "not attributed", sale.currency)].append(sale.amount_minor)
    rows: list[list[Cell]] = [
        [
            sequence,
            currency,
            len(amounts),
            _money(sum(amounts)),
            _money(sum(amounts) // len(amounts)),
        ]
        for (sequence, currency), amounts in sorted(totals.items())
    ]
    new_buyers = len({s.lead_id for s in sales if not s.repeat})
    return Panel(
        "revenue",
        6,
        "Revenue attributed",
        "Purchases in the period (major units, per currency), credited to the sequence the "
        "buyer was last enrolled in or last received a delivered message from in the 30 days "
        "before buying; the rest are 'not attributed'.",
        Table(["Sequence", "Currency", "Orders", "Revenue", "Average order"], rows),
        series=["Revenue"],
        figures=[
            ("Orders", str(len(sales))),
            ("New buyers", str(new_buyers)),
            ("Repeat purchases", str(sum(1 for s in sales if s.repeat))),
        ],
    )


def attributed_revenue(session: Session, scope: Scope) -> dict[str, int]:
    """Attributed revenue in minor units, per currency (the KPI)."""
    totals: dict[str, int] = defaultdict(int)
    for sale in attributed_purchases(session, scope):
        if sale.sequence is not None:
            totals[sale.currency] += sale.amount_minor
    return dict(totals)


# --- 7. journey step statistics (summary; the full table is in insight.journey_steps) -----------


def journeys(session: Session, scope: Scope) -> Panel:
    rows = session.execute(
        select(Enrollment.sequence_key, Touch.status)
        .join(Enrollment, Enrollment.id == Touch.enrollment_id)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(Lead.store_id.in_(scope.store_ids), *_in_window(Touch.created_at, scope.window))
    ).all()
    by_sequence: dict[str, Counter[str]] = defaultdict(Counter)
    for key, status in rows:
        counter = by_sequence[key]
        if status in DELIVERED or status in FAILED or status is TouchStatus.SENT:
            counter["Sent"] += 1
        if status in DELIVERED:
            counter["Delivered"] += 1
        if status is TouchStatus.REPLIED:
            counter["Replied"] += 1
        if status in FAILED:
            counter["Failed"] += 1
        if status is TouchStatus.SUPPRESSED:
            counter["Suppressed"] += 1
    columns = ["Sent", "Delivered", "Replied", "Failed", "Suppressed"]
    table = Table(
        ["Sequence", *columns],
        [[key, *[by_sequence[key][c] for c in columns]] for key in sorted(by_sequence)],
    )
    return Panel(
        "journeys",
        7,
        "Journey step statistics",
        "Messages of each sequence created in the period: sent, delivered, replied, failed "
        "and suppressed. Each sequence's page of step statistics has them per version and step.",
        table,
        series=["Sent", "Delivered", "Replied"],
    )


# --- 8. associate leaderboard ------------------------------------------------------------------


def leaderboard(session: Session, scope: Scope) -> Panel:
    staff = session.execute(
        select(Staff.id, Staff.name, Staff.role)
        .where(Staff.store_id.in_(scope.store_ids), Staff.active.is_(True))
        .order_by(Staff.name)
    ).all()
    cohort = _cohort(session, scope)
    owned: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for lead_id, _at, owner in cohort:
        if owner is not None:
            owned[owner].add(lead_id)
    tasks = session.execute(
        select(Task.assignee_id, Task.created_at, Task.acknowledged_at, Task.sla_due_at).where(
            Task.store_id.in_(scope.store_ids), *_in_window(Task.created_at, scope.window)
        )
    ).all()
    sales = session.execute(
        select(Purchase.associate_id, Purchase.lead_id, Purchase.amount_minor).where(
            Purchase.store_id.in_(scope.store_ids), *_in_window(Purchase.purchased_at, scope.window)
        )
    ).all()
    buyers = {lead_id for _, lead_id, _ in sales}
    rows: list[list[Cell]] = []
    for staff_id, name, role in staff:
        mine = [(made, acked, due) for who, made, acked, due in tasks if who == staff_id]
        ack_minutes: list[float] = []
        in_sla = breaches = 0
        for made, acked, due in mine:
            if acked is not None:
                ack_minutes.append((acked - made).total_seconds() / 60)
                in_sla += due is None or acked <= due
            if due is not None and (acked > due if acked is not None else due < scope.now):
                breaches += 1
        my_sales = [s for s in sales if s[0] == staff_id]
        leads = owned.get(staff_id, set())
        rows.append(
            [
                f"{name} ({role.value})",
                len(leads),
                len(mine),
                percent(in_sla, len(ack_minutes)),
                quantile(ack_minutes, 50),
                breaches,
                len(my_sales),
                _money(sum(int(s[2]) for s in my_sales)),
                percent(len(leads & buyers), len(leads)),
            ]
        )
    return Panel(
        "leaderboard",
        8,
        "Associate leaderboard",
        "Per member of staff: leads they own among those created in the period, tasks assigned "
        "in the period, % acknowledged within the SLA, median minutes to acknowledge, SLA "
        "breaches, purchases credited to them and their revenue, and close rate (owned leads "
        "who bought in the period).",
        Table(
            [
                "Staff",
                "Leads owned",
                "Tasks",
                "% ack in SLA",
                "Median min to ack",
                "SLA breaches",
                "Purchases",
                "Revenue",
                "Close rate %",
            ],
            rows,
        ),
        series=["Tasks", "SLA breaches", "Purchases"],
    )


def open_breaches(session: Session, scope: Scope) -> int:
    """Tasks open now whose SLA has passed (a snapshot)."""
    due = session.execute(
        select(Task.sla_due_at).where(
            Task.store_id.in_(scope.store_ids),
            Task.status.in_((TaskStatus.OPEN,)),
            Task.sla_due_at.is_not(None),
            Task.sla_due_at < scope.now,
        )
    ).all()
    return len(due)


# --- 9. going cold -----------------------------------------------------------------------------


def cold_leads(session: Session, scope: Scope) -> list[tuple[uuid.UUID, str | None]]:
    """Leads that engaged in the last 60 days but not in the last 14, never bought and never
    opted out (now, whatever the period)."""
    since = scope.now - COLD_LOOKBACK
    last: dict[uuid.UUID, datetime] = {}
    for lead_id, at in session.execute(
        select(Event.lead_id, Event.occurred_at).where(
            Event.store_id.in_(scope.store_ids),
            Event.kind.in_(COLD_KINDS),
            Event.occurred_at >= since,
            Event.occurred_at < scope.now,
        )
    ):
        last[lead_id] = max(at, last.get(lead_id, at))
    quiet = [lead_id for lead_id, at in last.items() if scope.now - at >= COLD_AFTER]
    gone: set[uuid.UUID] = set()
    segments: dict[uuid.UUID, str | None] = {}
    for chunk in _chunks(quiet):
        gone.update(session.scalars(select(Purchase.lead_id).where(Purchase.lead_id.in_(chunk))))
        gone.update(
            session.scalars(
                select(Event.lead_id).where(Event.lead_id.in_(chunk), Event.kind == "opted_out")
            )
        )
        segments.update(
            session.execute(select(Lead.id, Lead.segment).where(Lead.id.in_(chunk))).all()
        )
    return [(lead_id, segments.get(lead_id)) for lead_id in quiet if lead_id not in gone]


def going_cold(session: Session, scope: Scope) -> Panel:
    cold = cold_leads(session, scope)
    counts = Counter(_label(segment, "no segment") for _, segment in cold)
    return Panel(
        "going_cold",
        9,
        "Going cold now",
        "Leads who engaged (replied, wrote, clicked, visited, booked, asked) in the last 60 "
        "days but not in the last 14, and have neither bought nor opted out. A snapshot of "
        "now, whatever the period.",
        Table(["Segment", "Cold now"], [[s, counts[s]] for s in sorted(counts)]),
        series=["Cold now"],
        figures=[("Cold now", str(len(cold)))],
    )


# --- 10. pipeline by segment ------------------------------------------------------------------


def pipeline(session: Session, scope: Scope) -> Panel:
    rows = session.execute(
        select(
            Lead.segment, Lead.stage, Lead.budget_minor, Lead.budget_currency, Lead.occasion_dates
        ).where(Lead.store_id.in_(scope.store_ids), Lead.stage.in_(OPEN_STAGES))
    ).all()
    counts = Counter((_label(segment, "no segment"), stage.value) for segment, stage, *_ in rows)
    stages = [stage.value for stage in OPEN_STAGES]
    segments = sorted({segment for segment, _ in counts})
    potential: dict[str, int] = defaultdict(int)
    for _segment, _stage, budget, currency, _dates in rows:
        if budget is not None and currency:
            potential[currency] += int(budget)
    soon = sum(1 for *_, dates in rows for when in _occasions(dates, scope.now, timedelta(days=90)))
    return Panel(
        "pipeline",
        10,
        "Pipeline by segment",
        "Open leads now (not yet at purchase), by segment and stage; the potential value is "
        "the sum of the budgets leads told us, and occasions are those due in the next 90 days.",
        Table(
            ["Segment", *stages, "Total"],
            [
                [s, *[counts[(s, st)] for st in stages], sum(counts[(s, st)] for st in stages)]
                for s in segments
            ],
        ),
        series=stages,
        stacked=True,
        figures=[
            *[
                (f"Potential value ({c})", f"{_money(v):,.2f}")
                for c, v in sorted(potential.items())
            ],
            ("Occasions in the next 90 days", str(soon)),
        ],
    )


def _occasions(dates: Any, now: datetime, ahead: timedelta) -> list[str]:
    """The kinds of the lead's occasions falling in [today, today + ahead): yearly ones on
    their next anniversary, one-off ones (wedding, proposal) on their date."""
    if not isinstance(dates, dict):
        return []
    today = now.date()
    found = []
    for kind, value in dates.items():
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            continue
        if kind not in ONE_OFF_OCCASIONS:
            try:
                day = day.replace(year=today.year)
                if day < today:
                    day = day.replace(year=today.year + 1)
            except ValueError:  # 29 February
                day = date(today.year, 3, 1)
        if today <= day < today + ahead:
            found.append(str(kind))
    return found


# --- 11. messaging health ----------------------------------------------------------------------


def messaging_health(session: Session, scope: Scope) -> Panel:
    rows = session.execute(
        select(Touch.channel, Touch.status, Touch.reason)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(
            Lead.store_id.in_(scope.store_ids),
            Touch.staff_id.is_(None),
            *_in_window(Touch.created_at, scope.window),
        )
    ).all()
    opt_outs = Counter(
        str((payload or {}).get("channel") or "any")
        for (payload,) in session.execute(
            select(Event.payload).where(
                Event.store_id.in_(scope.store_ids),
                Event.kind == "opted_out",
                *_in_window(Event.occurred_at, scope.window),
            )
        )
    )
    sent: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    suppressed: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for channel, status, reason in rows:
        name = channel.value if channel else "none"
        if status is TouchStatus.SENT or status in DELIVERED or status in FAILED:
            sent[name] += 1
        if status in FAILED:
            failed[name] += 1
        if status is TouchStatus.SUPPRESSED:
            suppressed[name] += 1
            reasons[_label(reason)] += 1
    channels = sorted(set(sent) | set(suppressed) | (set(opt_outs) - {"any"}))
    table = Table(
        [
            "Channel",
            "Sent",
            "Failed",
            "Failed %",
            "Suppressed",
            "Opt-outs",
            "Opt-outs per 1,000 sent",
        ],
        [
            [
                c,
                sent[c],
                failed[c],
                percent(failed[c], sent[c]),
                suppressed[c],
                opt_outs[c],
                round(1000 * opt_outs[c] / sent[c], 1) if sent[c] else None,
            ]
            for c in channels
        ],
    )
    return Panel(
        "messaging_health",
        11,
        "Messaging health",
        "Messages to leads created in the period, by channel: sent, failed or bounced, "
        "suppressed by the send gate (reasons below), and opt-outs per 1,000 sent.",
        table,
        series=["Sent", "Failed", "Suppressed"],
        extra=Table(
            ["Suppressed because", "Messages"], [[r, n] for r, n in sorted(reasons.items())]
        ),
        missing="WhatsApp template approval status is not recorded in Facet yet.",
    )


# --- 12. occasions and gold-rate alerts ---------------------------------------------------------


def occasions(session: Session, scope: Scope) -> Panel:
    dates = session.scalars(select(Lead.occasion_dates).where(Lead.store_id.in_(scope.store_ids)))
    counts = Counter(
        kind for value in dates for kind in _occasions(value, scope.now, OCCASION_AHEAD)
    )
    return Panel(
        "occasions",
        12,
        "Occasions and gold-rate alerts",
        "Leads' occasions (anniversaries and birthdays every year; weddings and proposals "
        "once) due in the next 45 days, by kind.",
        Table(["Occasion", "Due in 45 days"], [[_label(k), counts[k]] for k in sorted(counts)]),
        series=["Due in 45 days"],
        missing="Gold-rate alerts: Facet has no gold-rate feed yet, so there are no alerts, "
        "recipients or replies to count.",
    )


PANELS: list[Callable[[Session, Scope], Panel]] = [
    lead_inflow,
    speed_to_lead,
    funnel,
    cohort_curves,
    appointments,
    revenue,
    journeys,
    leaderboard,
    going_cold,
    pipeline,
    messaging_health,
    occasions,
]
BY_KEY = {function.__name__: function for function in PANELS}


def all_panels(session: Session, scope: Scope) -> list[Panel]:
    return [build(session, scope) for build in PANELS]


# --- the KPI strip ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    before: str | None  # the previous equal period's figure; None for a snapshot
    change: str | None  # "+12 %", "−3 min", … ; None when there is nothing to compare
    panel: str


def _change(now: float | None, then: float | None, unit: str = "%") -> str | None:
    if now is None or then is None:
        return None
    if unit == "%" and then:
        return f"{(now - then) / then * 100:+.0f} %"
    if unit == "%":
        return None
    return f"{now - then:+g} {unit}"


def _money_text(totals: dict[str, int]) -> str:
    if not totals:
        return "0"
    return ", ".join(f"{c} {_money(v):,.2f}" for c, v in sorted(totals.items()))


def kpis(session: Session, scope: Scope) -> list[Kpi]:
    before = scope.before()
    leads_now, leads_then = leads_total(session, scope), leads_total(session, before)
    speed_now, speed_then = speeds(session, scope), speeds(session, before)
    p50_now, p50_then = quantile(speed_now.human, 50), quantile(speed_then.human, 50)
    conv_now, conv_then = conversion(session, scope), conversion(session, before)
    rev_now, rev_then = attributed_revenue(session, scope), attributed_revenue(session, before)
    single = len(set(rev_now) | set(rev_then)) <= 1
    return [
        Kpi(
            "Leads", str(leads_now), str(leads_then), _change(leads_now, leads_then), "lead_inflow"
        ),
        Kpi(
            "Human response p50",
            _minutes(p50_now),
            _minutes(p50_then),
            _change(p50_now, p50_then, "min"),
            "speed_to_lead",
        ),
        Kpi(
            "Conversion",
            "—" if conv_now is None else f"{conv_now:g} %",
            "—" if conv_then is None else f"{conv_then:g} %",
            _change(conv_now, conv_then, "pts"),
            "funnel",
        ),
        Kpi(
            "Attributed revenue",
            _money_text(rev_now),
            _money_text(rev_then),
            _change(sum(rev_now.values()), sum(rev_then.values())) if single else None,
            "revenue",
        ),
        Kpi("Open SLA breaches", str(open_breaches(session, scope)), None, None, "leaderboard"),
        Kpi("Going cold now", str(len(cold_leads(session, scope))), None, None, "going_cold"),
    ]
