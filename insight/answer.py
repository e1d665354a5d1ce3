"""Answers to plain-words questions: the number, what was understood, the rows and the SQL.

    answer = ask(session, "conversion this week", store_ids=[store.id], zone=store.timezone,
                 country=store.country, now=utcnow())
    answer.kind       # "answer" | "clarify" | "unknown"
    answer.sentence   # "Conversion, Mon 23 – Thu 26 Nov 2026, all leads: 9.2 % (11 of 120)"
    answer.rows       # [{"source": "instagram", "value": 0.1, "display": "10.0 %", …}, …]
    answer.sql        # the statement that ran, values written in
    answer.choices    # clarify: questions to pick from; unknown: the three closest

The console's ask box (web/) and `POST /v1/questions` (api/) both call `ask`; the branch
ids come from the caller's key or session, never from the question.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from insight.period import date_order
from insight.question import Clarify, Query, Unknown, parse
from insight.registry import METRICS, Result, evaluate, format_value


@dataclass(frozen=True)
class Answer:
    kind: Literal["answer", "clarify", "unknown"]
    question: str
    sentence: str
    metric: str | None = None
    label: str | None = None
    value: float | int | None = None
    display: str | None = None  # the value as a person reads it
    numerator: int | None = None
    denominator: int | None = None
    unit: str | None = None
    period: dict[str, str] | None = None  # start, end (UTC ISO), label, said
    dimensions: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    previous: dict[str, Any] | None = None  # value, display, period label, change
    rows: list[dict[str, Any]] = field(default_factory=list)
    definition: str | None = None
    sql: str | None = None
    note: str | None = None
    choices: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ask(
    session: Session,
    question: str,
    *,
    store_ids: Sequence[uuid.UUID],
    zone: str,
    now: datetime,
    country: str | None = None,
    week_start: int = 0,
) -> Answer:
    """Parse and answer `question` over the given branches, as of `now` (UTC-aware)."""
    today = now.astimezone(ZoneInfo(zone)).date()
    parsed = parse(
        question, today=today, zone=zone, order=date_order(country), week_start=week_start
    )
    if isinstance(parsed, Clarify):
        return Answer("clarify", question, parsed.message, choices=parsed.choices)
    if isinstance(parsed, Unknown):
        return Answer("unknown", question, parsed.message, choices=parsed.suggestions)
    return answer_query(session, question, parsed, store_ids=store_ids, now=now)


def answer_query(
    session: Session,
    question: str,
    query: Query,
    *,
    store_ids: Sequence[uuid.UUID],
    now: datetime,
) -> Answer:
    metric = METRICS[query.metric]
    result = evaluate(
        session, metric, query.period, store_ids=store_ids, dimensions=query.dimensions,
        filters=query.filters, compare=query.compare, now=min(query.period.end, now),
    )  # fmt: skip
    display = format_value(metric, result.value, result.currency)
    return Answer(
        kind="answer",
        question=question,
        sentence=sentence(result, query, as_of=min(query.period.end, now)),
        metric=metric.name,
        label=metric.label,
        value=result.value,
        display=display,
        numerator=result.numerator,
        denominator=result.denominator,
        unit=metric.unit,
        period={
            "start": result.period.start.isoformat(),
            "end": result.period.end.isoformat(),
            "label": result.period.label(),
            "said": result.period.name if query.period_said else "",
        },
        dimensions=list(result.dimensions),
        filters=dict(result.filters),
        previous=_previous(result),
        rows=[_row(result, row) for row in result.rows],
        definition=metric.definition,
        sql=result.sql or None,
        note=_note(result, query),
    )


def sentence(result: Result, query: Query, *, as_of: datetime) -> str:
    """'Conversion, Mon 23 – Thu 26 Nov 2026, bridal leads from instagram: 9.2 % (11 of 120)'."""
    metric = result.metric
    scope = _scope(result)
    when = result.period.label()
    if metric.kind == "snapshot":
        moment = as_of.astimezone(ZoneInfo(result.period.zone))
        when = f"as of {moment:%a} {moment.day} {moment:%b %Y %H:%M}"
    if not query.period_said and metric.kind != "snapshot":
        when = f"{when} (the last 30 days)"
    if result.value is None and result.note:
        return f"{metric.label}, {when}, {scope}: {result.note}"
    told = format_value(metric, result.value, result.currency)
    if result.numerator is not None:
        told += f" ({result.numerator:,} of {result.denominator:,})"
    if metric.kind == "duration" and result.extra.get("p90") is not None:
        told = (
            f"median {told}, p90 {format_value(metric, result.extra['p90'])} "
            f"({result.extra['answered']:,} of {result.extra['of']:,} answered)"
        )
    if result.dimensions:
        scope += ", by " + " and ".join(metric.dimensions[d] for d in result.dimensions)
    text = f"{metric.label}, {when}, {scope}: {told}"
    previous = result.previous
    if previous is not None:
        text += (
            f"; the previous period ({previous.period.label()}): "
            f"{format_value(metric, previous.value, previous.currency)}"
        )
    return text


def _scope(result: Result) -> str:
    filters = result.filters
    if not filters:
        return "all sources" if "source" in result.metric.filters else "all"
    parts = [f"{k} {v.replace('_', ' ')}" for k, v in sorted(filters.items())]
    return ", ".join(parts)


def _previous(result: Result) -> dict[str, Any] | None:
    previous = result.previous
    if previous is None:
        return None
    return {
        "value": previous.value,
        "display": format_value(result.metric, previous.value, previous.currency),
        "numerator": previous.numerator,
        "denominator": previous.denominator,
        "period": previous.period.label(),
        "change": result.change,
    }


def _row(result: Result, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {name: value for name, value in row.keys.items()}
    out["value"] = row.value
    out["display"] = format_value(result.metric, row.value, row.keys.get("currency"))
    if row.numerator is not None:
        out["numerator"], out["denominator"] = row.numerator, row.denominator
    return out


def _note(result: Result, query: Query) -> str | None:
    notes = []
    if query.typo:
        notes.append(f"read as “{query.typo}”")
    if query.ignored:
        notes.append(
            f"{result.metric.label} cannot be split by {', '.join(query.ignored)}; shown whole"
        )
    if result.note:
        notes.append(result.note)
    return "; ".join(notes) or None
