"""Lead capture and events, and what a lead's record shows.

Writes run the domain's operation in one unit of work, then tell Temporal its effects: if
Temporal is down the request fails with 503 and the caller retries; the retry finds the same
lead and event rows and repeats only the Temporal calls, which are idempotent by business key
and event id.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.deps import Backend
from api.leads.schemas import (
    BudgetView,
    CaptureResult,
    ConsentChange,
    ConsentView,
    EventEntry,
    EventIn,
    EventRecorded,
    JourneyDetail,
    JourneyProgress,
    JourneySummary,
    LeadCapture,
    LeadTask,
    LeadView,
    LikelyDuplicateView,
    MergeIn,
    MergeResult,
    OwnerView,
    ScoreView,
    Timeline,
    TimelineEntry,
    TouchEntry,
)
from api.writes import write_once
from core.vocabulary import JourneyStatus
from db.models import Lead
from db.repositories import (
    ConsentRepository,
    EnrollmentRepository,
    EventRepository,
    StaffRepository,
    TaskRepository,
    TouchRepository,
)
from db.repositories.base import After
from db.types import utcnow
from domain import merging
from domain.access import Actor
from domain.enrollment import lead_timezone
from domain.intake import capture, record_lead_event
from domain.leads import Budget, Details, Identity, lead_for
from workflows import handles


async def capture_lead(request: LeadCapture, actor: Actor, backend: Backend) -> CaptureResult:
    """Find or create the lead, record consent and the enquiry, and enroll it in a journey."""
    captured = await write_once(
        backend.database,
        lambda session: capture(
            session,
            backend.reference,
            backend.settings,
            actor,
            store_id=request.store_id,
            source=request.source.value,
            who=Identity(
                phone=request.phone,
                email=request.email,
                pos_customer_id=request.pos_customer_id,
            ),
            details=Details(
                first_name=request.first_name,
                last_name=request.last_name,
                preferred_channel=request.preferred_channel,
                segment=request.segment.value if request.segment else None,
                timezone=request.timezone,
                language=request.language,
                occasion_dates=request.occasion_dates(),
                budget=Budget(
                    amount_minor=request.budget.amount_minor,
                    currency=request.budget.currency,
                    band=request.budget.band.value if request.budget.band else None,
                )
                if request.budget
                else None,
                metals=[metal.value for metal in request.metals],
                stones=[stone.value for stone in request.stones],
                styles=request.styles,
                interests=request.interests,
            ),
            message=request.message,
            consented=request.consent.channels(),
            consent_evidence=request.consent.evidence,
            consent_submitted_at=request.consent.submitted_at,
        ),
    )
    applied = await backend.tell_temporal(captured.effects, saved=f"lead {captured.lead_id}")
    journey = captured.journey
    status = None
    if journey is not None:
        status = (
            JourneyStatus.ACTIVE if applied.started.get(journey.workflow_id) else journey.status
        )
    return CaptureResult(
        lead_id=captured.lead_id,
        created=captured.created,
        journey_workflow_id=journey.workflow_id if journey else None,
        journey_status=status,
        countdown_workflow_ids=captured.countdown_workflow_ids,
    )


async def record_event(
    lead_id: uuid.UUID, request: EventIn, actor: Actor, backend: Backend
) -> EventRecorded:
    """Store the event once; tell the lead's running journeys (they dedupe by id)."""
    recorded = await write_once(
        backend.database,
        lambda session: record_lead_event(
            session,
            backend.reference,
            backend.settings,
            actor,
            lead_id,
            key=request.event_id,
            kind=request.kind,
            source=request.source,
            payload=request.payload,
            occurred_at=request.occurred_at,
            revenue_minor=request.revenue_minor,
            currency=request.currency,
        ),
    )
    applied = await backend.tell_temporal(recorded.effects, saved=f"event {recorded.event_id}")
    return EventRecorded(
        event_id=recorded.event_id, duplicate=recorded.duplicate, delivered_to=applied.delivered
    )


def _journeys(session: Session, lead_id: uuid.UUID) -> list[JourneySummary]:
    summaries = []
    for enrollment, version in EnrollmentRepository(session).for_lead_with_versions(lead_id):
        summaries.append(
            JourneySummary(
                workflow_id=enrollment.workflow_id,
                sequence_key=enrollment.sequence_key,
                sequence_version=version,
                run=enrollment.run,
                status=enrollment.status,
                outcome=enrollment.outcome,
                revenue_minor=enrollment.revenue_minor,
                currency=enrollment.currency,
                started_at=enrollment.started_at,
                ended_at=enrollment.ended_at,
            )
        )
    return summaries


async def read_journeys(lead_id: uuid.UUID, actor: Actor, backend: Backend) -> list[JourneyDetail]:
    """Each of the lead's journeys: its sequence and version, and where it is right now."""

    def read(session: Session) -> tuple[str, list[JourneySummary]]:
        lead = lead_for(session, lead_id, actor)
        return lead_timezone(session, lead), _journeys(session, lead.id)

    timezone, summaries = await run_in_threadpool(backend.database.read, read)
    details = []
    for summary in summaries:
        view = (
            await handles.journey_status(backend.temporal, summary.workflow_id)
            if summary.status is JourneyStatus.ACTIVE
            else None
        )
        progress = None
        if view is not None:
            due = view.next_due_at
            progress = JourneyProgress(
                current_step=view.current_step,
                next_due_at=due,
                next_due_local=due.astimezone(ZoneInfo(timezone)).isoformat() if due else None,
                waiting_for=view.waiting_for,
                paused=view.paused,
                paused_until=view.paused_until,
                occasion_date=view.occasion_date,
                steps_done=len(view.history),
            )
        details.append(JourneyDetail(**summary.model_dump(), progress=progress))
    return details


def read_lead(session: Session, lead_id: uuid.UUID, actor: Actor) -> LeadView:
    lead = lead_for(session, lead_id, actor)
    consents = [
        ConsentView.model_validate(consent, from_attributes=True)
        for consent in ConsentRepository(session).for_lead(lead.id)
    ]
    return LeadView(
        id=lead.id,
        store_id=lead.store_id,
        first_name=lead.first_name,
        last_name=lead.last_name,
        phone=lead.phone_e164,
        email=lead.email,
        source=lead.source,
        segment=lead.segment,
        stage=lead.stage,
        preferred_channel=lead.preferred_channel,
        language=lead.language,
        timezone=lead.timezone,
        score=lead.score,
        created_at=lead.created_at,
        **_what_they_told_us(lead),
        consents=consents,
        journeys=_journeys(session, lead.id),
        **_qualification_view(session, lead),
    )


def _what_they_told_us(lead: Lead) -> dict[str, Any]:
    """Budget, occasion dates and what they like, as the lead told us (for a lead card)."""
    told = lead.budget_minor is not None or lead.budget_band is not None
    return {
        "budget": BudgetView(
            amount_minor=lead.budget_minor, currency=lead.budget_currency, band=lead.budget_band
        )
        if told
        else None,
        "occasions": dict(lead.occasion_dates or {}),
        "metals": lead.metals or [],
        "stones": lead.stones or [],
        "styles": lead.styles or [],
        "interests": lead.interests or [],
    }


def _qualification_view(session: Session, lead: Lead) -> dict[str, Any]:
    """Score with its explanation, owner and open tasks, for the lead view."""
    explanation = lead.score_explanation or {}
    owner = StaffRepository(session).get(lead.owner_id) if lead.owner_id else None
    return {
        "segment_reason": lead.segment_reason,
        "score_detail": ScoreView(
            value=lead.score,
            priority=lead.priority,
            model_version=lead.score_model_version,
            scored_at=lead.scored_at,
            positive=explanation.get("positive", []),
            negative=explanation.get("negative", []),
            triggers=explanation.get("triggers", []),
        )
        if lead.score is not None
        else None,
        "owner": OwnerView(id=owner.id, name=owner.name, role=owner.role.value) if owner else None,
        "open_tasks": [
            LeadTask.model_validate(task, from_attributes=True)
            for task in TaskRepository(session).for_lead(lead.id, open_only=True)
        ],
    }


# A timeline answers at most this many entries unless asked for fewer or more (up to the max);
# `next_cursor` fetches the rest.
TIMELINE_LIMIT = 100
TIMELINE_MAX_LIMIT = 500
_EVENT, _TOUCH = 0, 1  # at the same moment, an event comes before a message


class BadCursor(ValueError):
    """A `cursor` this API did not hand out."""

    def __init__(self) -> None:
        super().__init__("not a cursor this API gave out; use a timeline's next_cursor")


@dataclass(frozen=True)
class TimelineCursor:
    """Where the next page of a timeline starts: just past this entry (opaque to clients)."""

    at: datetime
    kind: int
    entry_id: uuid.UUID

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineCursor:
        if isinstance(entry, EventEntry):
            return cls(entry.at, _EVENT, entry.event_id)
        return cls(entry.at, _TOUCH, entry.touch_id)

    def encode(self) -> str:
        text = f"{self.at.isoformat()}|{self.kind}|{self.entry_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> TimelineCursor:
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            at, kind, entry_id = text.split("|")
            cursor = cls(datetime.fromisoformat(at), int(kind), uuid.UUID(entry_id))
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise BadCursor from error
        if cursor.kind not in (_EVENT, _TOUCH) or cursor.at.tzinfo is None:
            raise BadCursor
        return cursor

    def events_after(self) -> After:
        return After(self.at, self.entry_id if self.kind == _EVENT else False)

    def touches_after(self) -> After:
        return After(self.at, True if self.kind == _EVENT else self.entry_id)


def _order(entry: TimelineEntry) -> tuple[datetime, int, uuid.UUID]:
    cursor = TimelineCursor.of(entry)
    return cursor.at, cursor.kind, cursor.entry_id


def read_timeline(
    session: Session,
    lead_id: uuid.UUID,
    actor: Actor,
    *,
    limit: int = TIMELINE_LIMIT,
    cursor: TimelineCursor | None = None,
) -> Timeline:
    """One page of the lead's timeline, oldest first: two indexed queries of at most
    `limit + 1` rows each (events, messages), merged; `next_cursor` when more follow."""
    lead = lead_for(session, lead_id, actor)
    events = EventRepository(session).page_for_lead(
        lead.id, cursor.events_after() if cursor else None, limit + 1
    )
    touches = TouchRepository(session).page_for_lead(
        lead.id, cursor.touches_after() if cursor else None, limit + 1
    )
    entries: list[TimelineEntry] = [
        EventEntry(
            at=event.occurred_at,
            event_id=event.id,
            kind=event.kind,
            source=event.source,
            payload=event.payload,
        )
        for event in events
    ]
    entries += [
        TouchEntry(
            at=touch.sent_at or touch.created_at,
            touch_id=touch.id,
            to="staff" if touch.staff_id else "lead",
            step_id=touch.step_id,
            channel=touch.channel,
            template=touch.template,
            status=touch.status,
            reason=touch.reason,
            fell_back_from=touch.fell_back_from,
            held_until=touch.held_until,
            subject=touch.subject,
            body=touch.body,
            provider=touch.provider,
        )
        for touch in touches
    ]
    entries.sort(key=_order)
    page = entries[:limit]
    return Timeline(
        lead_id=lead.id,
        entries=page,
        journeys=_journeys(session, lead.id),
        consent=[
            ConsentChange.model_validate(record, from_attributes=True)
            for record in ConsentRepository(session).history(lead.id)
        ],
        next_cursor=TimelineCursor.of(page[-1]).encode() if len(entries) > limit else None,
    )


def likely_duplicates(
    session: Session, actor: Actor, store_id: uuid.UUID | None, limit: int
) -> list[LikelyDuplicateView]:
    return [
        LikelyDuplicateView(
            keep_lead_id=pair.keep_id,
            keep_name=pair.keep_name,
            other_lead_id=pair.other_id,
            other_name=pair.other_name,
            store_id=pair.store_id,
            reasons=pair.reasons,
        )
        for pair in merging.likely_duplicates(session, actor, store_id, limit)
    ]


async def merge(lead_id: uuid.UUID, body: MergeIn, actor: Actor, backend: Backend) -> MergeResult:
    """Merge `body.other_lead_id` into the lead, then start what the kept lead now needs."""
    now = utcnow()
    merged = await write_once(
        backend.database,
        lambda session: merging.merge_leads(
            session, actor, lead_id, body.other_lead_id, now, backend.reference
        ),
    )
    await backend.tell_temporal(merged.effects, saved=f"the merge into lead {lead_id}")
    return MergeResult(
        lead_id=merged.lead_id,
        merge_event_id=merged.event_id,
        started_journeys=[j.workflow_id for j in merged.effects.journeys],
    )
