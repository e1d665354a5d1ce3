"""The owner's weekly email: last week (Monday to Sunday in the branch's time zone) against the
week before, read from the same panels as the dashboard.

Mail clients run no scripts and draw SVG badly, so the bars are table cells with widths, the
CSS is moved into `style=""` attributes (css-inline), and nothing is loaded from elsewhere.
The new leads of the week travel as a CSV attachment, every cell made inert for spreadsheets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Lead, Store
from insight import panels
from insight.export import to_csv
from insight.period import Period
from insight.window import iso_week, last_full_week

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


@dataclass(frozen=True)
class Line:
    """One figure: last week, the week before, and the change a person reads."""

    label: str
    now: str
    before: str
    change: str


@dataclass(frozen=True)
class Bar:
    label: str
    now: int
    before: int
    now_width: int  # % of the widest bar
    before_width: int


@dataclass(frozen=True)
class Report:
    store_name: str
    iso_week: str
    week: Period
    subject: str
    html: str
    csv: bytes
    csv_name: str


def _lines(session: Session, scope: panels.Scope) -> list[Line]:
    """The dashboard's KPI strip for the week; snapshots ("now") have no week before."""
    return [
        Line(k.label, k.value, k.before or "—", k.change or ("now" if k.before is None else "—"))
        for k in panels.kpis(session, scope)
    ]


def _bars(session: Session, scope: panels.Scope) -> list[Bar]:
    """Leads by source, last week and the week before."""
    now = {str(r[0]): int(r[-1] or 0) for r in panels.lead_inflow(session, scope).table.rows}
    then = {
        str(r[0]): int(r[-1] or 0) for r in panels.lead_inflow(session, scope.before()).table.rows
    }
    widest = max([*now.values(), *then.values(), 1])
    return [
        Bar(
            source,
            now.get(source, 0),
            then.get(source, 0),
            round(100 * now.get(source, 0) / widest),
            round(100 * then.get(source, 0) / widest),
        )
        for source in sorted(set(now) | set(then))
    ]


def new_leads_csv(session: Session, scope: panels.Scope) -> bytes:
    """The week's new leads, one a row: names as typed by the public, made inert."""
    rows = session.execute(
        select(Lead.first_name, Lead.last_name, Lead.source, Lead.segment, Lead.created_at)
        .where(
            Lead.store_id.in_(scope.store_ids),
            Lead.created_at >= scope.period.start,
            Lead.created_at < scope.period.end,
        )
        .order_by(Lead.created_at, Lead.id)  # leads that arrived together: a stable order
    ).all()
    return to_csv(
        ["First name", "Last name", "Source", "Segment", "Created (UTC)"],
        [
            [first or "", last or "", source, segment or "", created.isoformat()]
            for first, last, source, segment, created in rows
        ],
    ).encode("utf-8-sig")


def weekly_report(session: Session, store_id: uuid.UUID, at: datetime) -> Report:
    """The report of the last full week before `at` for one branch."""
    store = session.get(Store, store_id)
    if store is None:
        raise LookupError(f"no branch {store_id}")
    week = last_full_week(at, store.timezone)
    scope = panels.Scope((store.id,), week, min(at, week.end))
    week_key = iso_week(week.start, store.timezone)
    html = _TEMPLATES.get_template("weekly_report.html").render(
        store=store.name,
        week=week,
        iso_week=week_key,
        lines=_lines(session, scope),
        bars=_bars(session, scope),
        funnel=panels.funnel(session, scope).table,
    )
    return Report(
        store_name=store.name,
        iso_week=week_key,
        week=week,
        subject=f"{store.name}: your week, {week.label()}",
        html=css_inline.inline(html),
        csv=new_leads_csv(session, scope),
        csv_name=f"new-leads-{week_key}.csv",
    )
