"""The owner's and managers' dashboard: a KPI strip and twelve panels, per branch or across
branches, over a chosen period compared with the equal period before; each panel's numbers as
a table beside its chart, and as CSV.

Who sees what: an admin every branch (or their own, when limited to one), a manager their own
branch (every branch when their account says so); marketing and the store's other staff none.
Another branch's dashboard or CSV is refused (403), never silently narrowed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.vocabulary import ApiRole
from db.models import Store
from db.repositories import StoreRepository
from db.types import utcnow
from domain.accounts import Person
from insight import panels
from insight.answer import Answer, ask
from insight.export import to_csv
from insight.period import Period
from insight.window import PRESETS, BadPeriod, window
from web import session
from web.inbox import read
from web.pages import Refused, allow, person, render

router = APIRouter(prefix="/console/dashboard", include_in_schema=False)
ALL = "all"
MAX_QUESTION = 300


def sees_dashboards(me: Person) -> bool:
    """Admins (the owner) and managers."""
    return me.role is ApiRole.ADMIN or me.manages


async def _viewer(request: Request) -> Person:
    me = await person(request)
    allow(sees_dashboards(me), "see dashboards; they are for the owner and managers")
    return me


@dataclass(frozen=True)
class Choice:
    """What the page shows: its branches, their time zone, the period, the picker's values."""

    branch: str  # a store id, or "all"
    stores: list[Store]  # the branches the person may choose between
    shown: list[Store]  # the branches this view counts
    period_shown: Period
    period: str
    first: str
    last: str

    @property
    def scope_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(store.id for store in self.shown)

    @property
    def query(self) -> str:
        extra = f"&from={self.first}&to={self.last}" if self.period == "custom" else ""
        return f"branch={self.branch}&period={self.period}{extra}"


def _timezone(stores: list[Store]) -> str:
    zones = {store.timezone for store in stores}
    return zones.pop() if len(zones) == 1 else "UTC"


def choose(
    db: Session, me: Person, branch: str | None, period: str, first: str, last: str
) -> Choice:
    """The branches and period asked for, if this person may see them."""
    stores = [s for s in StoreRepository(db).every() if me.actor.may_access_store(s.id)]
    if not stores:
        raise Refused(404, "There is no branch to show yet.")
    mine = me.actor.store_id
    wanted = branch or (str(mine) if mine else (ALL if len(stores) > 1 else str(stores[0].id)))
    if wanted == ALL:
        if mine is not None:
            raise Refused(403, "You may see your own branch only.")
        shown = stores
    else:
        try:
            wanted_id = uuid.UUID(wanted)
        except ValueError:
            raise Refused(422, "branch: choose a branch from the list.") from None
        if not me.actor.may_access_store(wanted_id):
            raise Refused(403, "You may see your own branch only.")
        shown = [s for s in stores if s.id == wanted_id]
        if not shown:
            raise Refused(404, "There is no such branch.")
    try:
        chosen = window(period, utcnow(), _timezone(shown), first, last)
    except BadPeriod as bad:
        raise Refused(422, f"{bad.field}: {bad.message}.") from None
    return Choice(wanted, stores, shown, chosen, period, first, last)


def _scope(choice: Choice) -> panels.Scope:
    return panels.Scope(
        choice.scope_ids, choice.period_shown, min(utcnow(), choice.period_shown.end)
    )


@router.get("")
async def dashboard_page(
    request: Request,
    branch: str | None = None,
    period: str = "30d",
) -> Response:
    """The KPI strip and the twelve panels."""
    me = await _viewer(request)
    first = request.query_params.get("from", "")
    last = request.query_params.get("to", "")

    def build(db: Session) -> dict[str, Any]:
        choice = choose(db, me, branch, period, first, last)
        scope = _scope(choice)
        return {
            "choice": choice,
            "kpis": panels.kpis(db, scope),
            "panels": panels.all_panels(db, scope),
        }

    context = await read(request, build)
    return render(request, "dashboard.html", {"person": me, "presets": PRESETS, **context})


@router.get("/{key}.csv")
async def panel_csv(
    request: Request, key: str, branch: str | None = None, period: str = "30d"
) -> Response:
    """One panel's table as CSV (cells that a spreadsheet would run are made inert)."""
    me = await _viewer(request)
    build = panels.BY_KEY.get(key)
    if build is None:
        raise Refused(404, "There is no such panel.")
    first = request.query_params.get("from", "")
    last = request.query_params.get("to", "")

    def table(db: Session) -> tuple[panels.Panel, Choice]:
        choice = choose(db, me, branch, period, first, last)
        return build(db, _scope(choice)), choice

    panel, choice = await read(request, table)
    # With a byte-order mark, so a spreadsheet reads the text as UTF-8.
    body = to_csv(panel.table.columns, panel.table.rows).encode("utf-8-sig")
    name = f"facet-{key}-{choice.period_shown.start.date()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/ask")
async def ask_box(request: Request) -> Response:
    """Answer a question in plain words over the branches this dashboard shows (the branch
    comes from the session and the picker, never from the question's words)."""
    me = await _viewer(request)
    fields = await session.form(request)
    question = fields.get("question", "").strip()
    if not question:
        raise Refused(422, "question: ask something, e.g. “what was our conversion last week?”")
    if len(question) > MAX_QUESTION or any(ord(c) < 32 for c in question):
        raise Refused(422, f"question: at most {MAX_QUESTION} characters of plain text.")

    def answer(db: Session) -> Answer:
        choice = choose(db, me, fields.get("branch") or None, "30d", "", "")
        return ask(
            db, question, store_ids=list(choice.scope_ids), zone=_timezone(choice.shown),
            country=choice.shown[0].country, now=utcnow(),
        )  # fmt: skip

    found = await read(request, answer)
    context = {"answer": found, "branch": fields.get("branch", "")}
    return render(request, "_answer.html", context)
