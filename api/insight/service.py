"""Questions and metric exports: the branch comes from the caller's key, never the request text."""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.deps import Backend
from api.insight.schemas import AnswerOut, MetricOut, QuestionIn
from db.types import utcnow
from domain.access import Actor
from domain.errors import InvalidField, NotFound
from domain.reference import StoreProfile
from insight.answer import ask
from insight.export import leads_csv, result_csv
from insight.period import Period, PeriodGrammar, date_order
from insight.registry import METRICS, Metric, evaluate, lead_list


async def question(body: QuestionIn, actor: Actor, backend: Backend) -> AnswerOut:
    store = await _store(actor, body.store_id, backend, where="store_id")
    answer = await run_in_threadpool(
        backend.database.read,
        lambda session: ask(
            session, body.question, store_ids=[store.id], zone=store.timezone,
            country=store.country, now=utcnow(),
        ),
    )  # fmt: skip
    return AnswerOut.model_validate(answer.as_dict())


def catalogue() -> list[MetricOut]:
    return [
        MetricOut(
            name=m.name, label=m.label, kind=m.kind, unit=m.unit, definition=m.definition,
            panel=m.panel, dimensions=dict(m.dimensions), filters=dict(m.filters),
            available=m.available, note=m.note,
        )
        for m in METRICS.values()
    ]  # fmt: skip


async def metric_csv(
    name: str,
    actor: Actor,
    backend: Backend,
    *,
    store_id: uuid.UUID | None,
    period: str | None,
    start: date | None,
    end: date | None,
    by: list[str],
    leads: bool,
) -> str:
    metric = METRICS.get(name)
    if metric is None:
        raise NotFound(f"no metric named {name!r}; GET /v1/metrics lists them")
    store = await _store(actor, store_id, backend, where="store_id")
    span = _period(store, period, start, end)
    _check_names(metric, by)

    def export(session: Session) -> str:
        if leads:
            return leads_csv(lead_list(session, metric, span, store_ids=[store.id]))
        return result_csv(evaluate(session, metric, span, store_ids=[store.id], dimensions=by))

    text: str = await run_in_threadpool(backend.database.read, export)
    return text


async def _store(
    actor: Actor, store_id: uuid.UUID | None, backend: Backend, *, where: str
) -> StoreProfile:
    """The branch asked about: the key's own, or (for a key that sees all) the one named."""
    if store_id is None:
        if actor.store_id is None:
            raise InvalidField(where, "this key sees every branch: name one with store_id")
        store_id = actor.store_id
    actor.check_store(store_id)
    chosen = store_id
    store = await run_in_threadpool(
        backend.database.read, lambda session: backend.reference.store(session, chosen)
    )
    if store is None:
        raise InvalidField(where, f"no store with id {store_id}")
    return store


def _period(store: StoreProfile, said: str | None, start: date | None, end: date | None) -> Period:
    if start is not None or end is not None:
        if start is None or end is None:
            raise InvalidField("start" if start is None else "end", "give both start and end")
        if end <= start:
            raise InvalidField("end", "end (exclusive) must be after start")
        return Period.of_days(start, end, store.timezone)
    today = utcnow().astimezone(ZoneInfo(store.timezone)).date()
    grammar = PeriodGrammar(today, store.timezone, date_order(store.country))
    if not said:
        return grammar.default()
    found = grammar.find(said.lower())
    if found is None:
        raise InvalidField(
            "period", "not a period I know: try 'this week', 'last month', 'Q3', 'last 30 days'"
        )
    return found.period


def _check_names(metric: Metric, by: list[str]) -> None:
    if len(by) > 2:
        raise InvalidField("by", "at most two dimensions")
    for name in by:
        if name not in metric.dimensions:
            known = ", ".join(metric.dimensions) or "none"
            raise InvalidField("by", f"{metric.name} has no dimension {name!r} (it has: {known})")
