"""Scoring: read a lead's facts, segment and score it, store the score and its reasons, and
say whether a person or a journey must act on it.

`qualify_now` runs for one lead after one event: inside the API's capture or event request
(the score is there at once), and in the `qualify_lead` activity. `rescore` is what the nightly
schedule and `make bench` run: it pages through leads, reads their events in bulk, scores them
with the store's promoted model (or the rules) and writes the scores back, 2,000 leads per unit
of work. The arithmetic itself is pure and lives in `qualification/`.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.settings import Settings
from db.models import Event, Lead
from db.repositories import QualificationReader, SequenceRepository
from db.session import Database
from db.types import utcnow
from domain import consent
from domain.enrollment import superseded_by
from domain.errors import UnknownLead
from domain.reference import Reference
from domain.tasks import cancel_open_tasks
from qualification.cold import is_going_cold
from qualification.config import QualificationConfig
from qualification.facts import LeadFacts, Signal
from qualification.learning import LearnedModel, score_lead
from qualification.outcomes import ColdLead, EscalationNeed, Qualification
from qualification.scoring import Score, ScoringConfig, idle_days, role_for_text
from qualification.segments import FORM_REASON, classify, evidence_for
from sequences.timing import next_month_day
from sequences.vocabulary import ONE_OFF_OCCASIONS, EventKind, Priority, WorkPurpose

log = logging.getLogger(__name__)

RESCORE_PAGE = 2_000
# A lead who bought, or opted out everywhere, needs no more chasing: these events end its open
# sales tasks. Service tasks (a custom order's CAD and pickup, a repair) go on.
ENDS_TASKS = frozenset({EventKind.PURCHASE.value, EventKind.OPTED_OUT.value})

Occurrence = tuple[str, datetime, dict[str, Any]]


def signal_from(kind: str, at: datetime, payload: dict[str, Any]) -> Signal:
    text = payload.get("text") or payload.get("message")
    seconds = payload.get("seconds")
    value = payload.get("value_minor")
    return Signal(
        kind=kind,
        at=at,
        text=str(text) if text else None,
        category=str(payload["category"]) if payload.get("category") else None,
        seconds=float(seconds) if isinstance(seconds, int | float) else None,
        value_minor=int(value) if isinstance(value, int) else None,
        outcome=str(payload["outcome"]) if payload.get("outcome") else None,
    )


def coming_occasions(dates: dict[str, Any], today: date) -> list[tuple[str, date]]:
    """Each occasion's next date, nearest first: a wedding or proposal on its date (if still
    to come), an anniversary or birthday the next time it comes round."""
    coming = []
    for kind, value in dates.items():
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            continue
        if kind not in ONE_OFF_OCCASIONS and day < today:
            day = next_month_day(day.month, day.day, today)
        if day >= today:
            coming.append((kind, day))
    return sorted(coming, key=lambda item: (item[1], item[0]))


def facts_from(
    lead: Any,
    events: Sequence[Occurrence],
    purchases: Sequence[datetime],
    *,
    as_of: datetime,
) -> LeadFacts:
    """A lead's facts as they stood at `as_of` (purchases are outcomes, not engagement)."""
    attributes: dict[str, Any] = lead.attributes or {}
    signals = tuple(
        signal_from(kind, at, payload)
        for kind, at, payload in events
        if at <= as_of and kind != EventKind.PURCHASE.value
    )
    repeat = bool(attributes.get("repeat_customer")) or any(p < lead.created_at for p in purchases)
    occasions = coming_occasions(lead.occasion_dates or {}, as_of.date())
    nearest = occasions[0] if occasions else (None, None)
    return LeadFacts(
        captured_at=lead.created_at,
        source=lead.source,
        budget_band=lead.budget_band or attributes.get("budget_band"),
        budget_minor=lead.budget_minor,
        budget_currency=lead.budget_currency,
        occasion_date=nearest[1],
        occasion_kind=nearest[0],
        occasions=tuple(occasions),
        interests=tuple([*(lead.styles or []), *(lead.interests or [])]),
        repeat_customer=repeat,
        segment=lead.segment,
        language=lead.language,
        signals=signals,
    )


def read_leads(
    session: Session, lead_ids: Sequence[uuid.UUID]
) -> list[tuple[Any, list[Occurrence], list[datetime]]]:
    """Many leads with their events and purchase times, in three queries."""
    reader = QualificationReader(session)
    events: dict[uuid.UUID, list[Occurrence]] = defaultdict(list)
    purchases: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for lead_id, kind, at, payload in reader.events(lead_ids):
        events[lead_id].append((kind, at, payload or {}))
        if kind == EventKind.PURCHASE.value:
            purchases[lead_id].append(at)
    for lead_id, at in reader.purchases(lead_ids):
        purchases[lead_id].append(at)
    return [(row, events[row.id], purchases[row.id]) for row in reader.leads(lead_ids)]


def load_facts(
    session: Session, lead_ids: Sequence[uuid.UUID], as_of: datetime
) -> dict[uuid.UUID, tuple[Any, LeadFacts]]:
    """Facts for many leads as they stand at `as_of`; values are (lead row, facts)."""
    return {
        row.id: (row, facts_from(row, events, purchases, as_of=as_of))
        for row, events, purchases in read_leads(session, lead_ids)
    }


COLD_PAGE = 2_000


def cold_leads(
    session: Session, config: QualificationConfig, now: datetime, store_id: uuid.UUID | None
) -> list[ColdLead]:
    """Leads in an active journey that have not engaged for their segment's N days
    (`qualification/cold.py`), up to the sweep's limit."""
    ids = QualificationReader(session).active_lead_ids(limit=50_000, store_id=store_id)
    cold: list[ColdLead] = []
    for start in range(0, len(ids), COLD_PAGE):
        for lead_id, (lead, facts) in load_facts(
            session, ids[start : start + COLD_PAGE], now
        ).items():
            idle = idle_days(facts, now)
            if idle is None or not is_going_cold(idle, lead.segment, config.cold_after_days):
                continue
            last = (now - timedelta(days=idle)).date()
            cold.append(ColdLead(lead_id=lead_id, idle_days=int(idle), last_engaged_on=last))
            if len(cold) >= config.cold_sweep_limit:
                return cold
    return cold


def score_row(lead_id: uuid.UUID, score: Score, at: datetime) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "score": score.value,
        "priority": score.tier.value,
        "version": score.model_version,
        "explanation": score.explanation(),
        "at": at,
    }


def rescore(
    database: Database,
    reference: Reference,
    config: QualificationConfig,
    now: datetime,
    *,
    store_id: uuid.UUID | None = None,
    on_page: Callable[[int], object] | None = None,
) -> int:
    """Rescore every lead (of one store, or all), page by page. Returns how many."""
    models: dict[uuid.UUID, LearnedModel | None] = {}
    after: uuid.UUID | None = None
    total = 0
    while True:

        def page(session: Session, after: uuid.UUID | None = after) -> tuple[int, uuid.UUID | None]:
            ids = QualificationReader(session).lead_ids(
                after=after, limit=RESCORE_PAGE, store_id=store_id
            )
            if not ids:
                return 0, None
            rows = []
            for lead_id, (lead, facts) in load_facts(session, ids, now).items():
                if lead.store_id not in models:
                    models[lead.store_id] = reference.scoring_model(session, lead.store_id)
                score = score_lead(facts, now, config.scoring, model=models[lead.store_id])
                rows.append(score_row(lead_id, score, now))
            QualificationReader(session).write_scores(rows)
            return len(ids), ids[-1]

        count, after = database.run(page)
        total += count
        if on_page is not None:
            on_page(total)
        if after is None or count < RESCORE_PAGE:
            return total


def _form_segment(lead: Lead) -> str | None:
    """The segment picked on the capture form: stored before any reason, or with that reason."""
    if lead.segment and (not lead.segment_reason or lead.segment_reason.startswith(FORM_REASON)):
        return lead.segment
    return None


@dataclass(frozen=True)
class NewLead:
    """A lead created in the caller's unit of work with its first event, both perhaps not yet
    written: its whole history is that event, so nothing needs reading back."""

    lead: Lead
    event: Event


def qualify_now(
    session: Session,
    reference: Reference,
    config: QualificationConfig,
    *,
    lead_id: uuid.UUID,
    event_id: uuid.UUID | None,
    now: datetime,
    new_lead: NewLead | None = None,
) -> Qualification:
    """Segment and score one lead after an event (None: a plain rescore), in the caller's
    unit of work.

    The API runs it inside a capture or event request (the score is there at once, and no
    workflow is started unless a person or a journey must act); the `qualify_lead` activity
    runs the same for the QualifyLead workflow. A capture that created the lead passes it as
    `new_lead`: scored before it is first written, its INSERT carries the score.
    """
    event: Event | None
    if new_lead is not None:
        lead, event = new_lead.lead, new_lead.event
        occurred = (event.kind, event.occurred_at, event.payload or {})
        facts = facts_from(lead, [occurred], [], as_of=now)  # and no purchase yet
    else:
        found = session.get(Lead, lead_id)
        if found is None:
            raise UnknownLead(lead_id)
        lead = found
        event = session.get(Event, event_id) if event_id is not None else None
        _, facts = load_facts(session, [lead.id], now)[lead.id]
    trigger = signal_from(event.kind, event.occurred_at, event.payload or {}) if event else None

    ending = event is not None and _ends_sales_work(session, lead, event)
    cancelled = []
    if trigger is not None and ending:
        cancelled = cancel_open_tasks(
            session,
            lead.id,
            at=now,
            why=f"the lead {trigger.kind.replace('_', ' ')}",
            cause=str(event_id),
            purpose=WorkPurpose.SALES,
        )

    # Read before the lead changes: one UPDATE of the lead, not two.
    model = reference.scoring_model(session, lead.store_id)
    decision = classify(evidence_for(facts, form_segment=_form_segment(lead)))
    segment_changed = decision is not None and decision.segment.value != lead.segment
    if decision is not None and (segment_changed or not lead.segment_reason):
        lead.segment = decision.segment.value
        lead.segment_reason = decision.reason

    previous = Priority(lead.priority) if lead.priority else None
    score = score_lead(facts, now, config.scoring, model=model, trigger_signal=trigger)
    lead.score = score.value
    lead.priority = score.tier.value
    lead.score_model_version = score.model_version
    lead.score_explanation = score.explanation()
    lead.scored_at = now
    session.flush()
    new_journey = None
    superseded: list[str] = []
    if segment_changed and lead.segment and not ending:
        version = SequenceRepository(session).latest_for_segment(lead.segment)
        new_journey = version.key if version else None
        if version is not None:
            superseded = superseded_by(session, reference, lead.id, reference.sequence(version))
    return Qualification(
        score=score.value,
        priority=score.tier,
        previous_priority=previous,
        model_version=score.model_version,
        segment=lead.segment,
        segment_changed=segment_changed,
        escalation=None if ending else _escalation(config, score, previous, trigger, lead.segment),
        segment_sequence=new_journey,
        superseded_journeys=superseded,
        cancelled_tasks=[task.id for task in cancelled],
    )


def _ends_sales_work(session: Session, lead: Lead, event: Event) -> bool:
    """A purchase, or an opt-out that leaves no marketing channel (a full opt-out: staff
    recorded it without a channel, or every channel is stopped). A STOP on one channel
    ends no sales task: the lead can still be reached on another."""
    if event.kind not in ENDS_TASKS:
        return False
    if event.kind == EventKind.OPTED_OUT.value and (event.payload or {}).get("channel"):
        return consent.stopped_everywhere(session, lead)
    return True


def score_event(
    session: Session,
    reference: Reference,
    config: QualificationConfig,
    lead: Lead,
    event: Event,
    *,
    new_lead: bool = False,
) -> Qualification | None:
    """Score the lead for this event now, in the caller's unit of work (a door recording an
    event). Returns the qualification when someone must act on it (the door then starts the
    QualifyLead workflow with it); most events need nothing more, so they cost no workflow.
    `new_lead`: the lead was created with this event in this unit of work (see `NewLead`).
    """
    result = qualify_now(
        session,
        reference,
        config,
        lead_id=lead.id,
        event_id=event.id,
        now=utcnow(),
        new_lead=NewLead(lead, event) if new_lead else None,
    )
    return result if result.must_act else None


def _escalation(
    config: QualificationConfig,
    score: Score,
    previous: Priority | None,
    trigger: Signal | None,
    segment: str | None,
) -> EscalationNeed | None:
    sla = config.hot_task_sla
    if score.triggers:
        hit = score.triggers[0]
        return EscalationNeed(
            kind=hit.trigger.value,
            role_needed=hit.role_needed,
            reason=f"Hard trigger: {'; '.join(t.detail for t in score.triggers)}",
            priority=Priority.HOT,
            sla=sla,
        )
    if score.tier is Priority.HOT and previous is not Priority.HOT:
        top = ", ".join(f.label for f in score.positive) or "engagement"
        return EscalationNeed(
            kind="hot_lead",
            role_needed=role_for_text(trigger.text if trigger else None, segment),
            reason=f"Lead turned hot (score {score.value}): {top}",
            priority=Priority.HOT,
            sla=sla,
        )
    return None


def as_of_for_training(
    captured_at: datetime, purchases: Sequence[datetime], config: QualificationConfig
) -> datetime:
    """When features are read for training: the horizon after capture, or just before a purchase."""
    horizon = captured_at + timedelta(days=config.feature_horizon_days)
    earlier = [p - timedelta(seconds=1) for p in purchases if p >= captured_at]
    return min([horizon, *earlier])


def qualification_config(settings: Settings) -> QualificationConfig:
    """The scorer's and the model's tunables, from the settings (worker and API alike)."""
    return QualificationConfig(
        scoring=ScoringConfig(
            half_life_days=settings.score_half_life_days,
            hot_at=settings.score_hot_at,
            warm_at=settings.score_warm_at,
        ),
        min_labelled_leads=settings.model_min_labelled_leads,
        min_purchases=settings.model_min_purchases,
    )
