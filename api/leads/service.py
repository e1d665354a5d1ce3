"""Lead capture and events: one database unit of work, then the Temporal call.

The row is written first and the workflow started or signalled second. If Temporal is down
the request fails with 503 and the caller retries: the retry finds the same lead and event
rows and repeats only the Temporal call, which is idempotent by business key and event id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api import journeys, qualification
from api.auth import Principal
from api.enrollment import (
    EnrollmentPlan,
    JourneyStart,
    launch,
    plan_countdowns,
    plan_journey,
)
from api.errors import conflict, field_error, forbidden, not_found, unavailable
from api.identity import normalise_phone
from api.leads.schemas import (
    CaptureResult,
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
    OwnerView,
    ScoreView,
    Timeline,
    TimelineEntry,
    TouchEntry,
)
from api.writes import write_once
from core.settings import Settings
from core.vocabulary import JourneyStatus
from db.models import Event, Lead, Store
from db.repositories import (
    ConsentRepository,
    EnrollmentRepository,
    EventRepository,
    LeadRepository,
    SequenceRepository,
    StaffRepository,
    StoreRepository,
    TaskRepository,
    TouchRepository,
)
from db.session import Database
from db.types import utcnow
from sequences.vocabulary import EventKind, Purpose
from workflows.journey import JourneyEvent


@dataclass(frozen=True)
class _CapturePlan:
    lead_id: uuid.UUID
    created: bool
    event: JourneyEvent
    qualify: qualification.Decision | None  # someone must act on the capture's score
    enrollment: EnrollmentPlan
    journey: JourneyStart | None
    other_journeys: list[str]


def _fill_identity(lead: Lead, request: LeadCapture, phone: str | None, session: Session) -> None:
    """Add what a returning lead told us this time, without taking another lead's identity."""
    leads = LeadRepository(session)
    if (
        phone
        and not lead.phone_e164
        and not leads.find_by_identity(lead.store_id, phone_e164=phone, email=None)
    ):
        lead.phone_e164 = phone
    if (
        request.email
        and not lead.email
        and not leads.find_by_identity(lead.store_id, phone_e164=None, email=request.email)
    ):
        lead.email = request.email
    lead.first_name = lead.first_name or request.first_name
    lead.last_name = lead.last_name or request.last_name
    lead.preferred_channel = request.preferred_channel or lead.preferred_channel
    lead.segment = lead.segment or (request.segment.value if request.segment else None)


def _record_capture(
    session: Session, request: LeadCapture, principal: Principal, settings: Settings
) -> _CapturePlan:
    store = StoreRepository(session).profile(request.store_id)
    if store is None:
        raise field_error("store_id", f"no store with id {request.store_id}")
    principal.check_store(store.id)
    phone = normalise_phone(request.phone, store.country) if request.phone else None

    leads = LeadRepository(session)
    lead = leads.find_by_identity(store.id, phone_e164=phone, email=request.email)
    if lead is not None:
        _fill_identity(lead, request, phone, session)
        lead.occasion_dates = {**lead.occasion_dates, **request.occasion_dates()}
        return _enroll(session, lead, request, settings, created=False)
    now = utcnow()
    lead = Lead(
        id=uuid.uuid4(),
        store_id=store.id,
        first_name=request.first_name,
        last_name=request.last_name,
        phone_e164=phone,
        email=request.email,
        pos_customer_id=request.pos_customer_id,
        timezone=request.timezone or store.timezone,
        language=request.language or store.locale,
        preferred_channel=request.preferred_channel,
        source=request.source.value,
        segment=request.segment.value if request.segment else None,
        occasion_dates=request.occasion_dates(),
        created_at=now,
        updated_at=now,
    )
    # A new lead has nothing to look up and is scored before it is written: with autoflush off
    # it takes two flushes (the lead with its score, then the rows that refer to it), not six.
    with session.no_autoflush:
        leads.add(lead, flush=False)
        return _enroll(session, lead, request, settings, created=True)


def _enroll(
    session: Session, lead: Lead, request: LeadCapture, settings: Settings, *, created: bool
) -> _CapturePlan:
    """Record the capture's consent and event for `lead`, score it and plan its journeys."""
    now = utcnow()
    # The journey follows the segment as captured; a segment the score finds later in the
    # message starts its own journey through `qualify`.
    version = SequenceRepository(session).newest_for_segment(
        lead.segment, settings.fallback_sequence_key
    )
    kind = EventKind.CAPTURED if created else EventKind.ENQUIRY
    event = Event(
        id=uuid.uuid4(),
        store_id=lead.store_id,
        lead_id=lead.id,
        kind=kind.value,
        source=request.source.value,
        payload={"message": request.message} if request.message else {},
        occurred_at=now,
        recorded_at=now,
        idempotency_key=f"capture:{uuid.uuid4()}",
    )
    if created:
        # Scored first, so the lead's INSERT carries its score; its consents, event and
        # enrollments are written by the next flush (they refer to the lead).
        qualify = qualification.assess(session, lead, event, settings, new_lead=True)
    ConsentRepository(session).grant_all(
        lead.id,
        request.consent.channels(),
        Purpose.MARKETING,
        source=request.source.value,
        evidence=request.consent.evidence,
        at=now,
        new_lead=created,
    )
    EventRepository(session).add(event, flush=not created)
    if not created:
        qualify = qualification.assess(session, lead, event, settings)

    journey = None
    plan = EnrollmentPlan()
    if version is not None:
        journey = plan_journey(session, lead, version, new_lead=created)
        plan.journeys.append(journey)
    plan.countdowns = plan_countdowns(session, lead, new_lead=created)
    planned = {j.workflow_id for j in plan.journeys} | {c.workflow_id for c in plan.countdowns}
    others = [
        e.workflow_id
        for e in ([] if created else EnrollmentRepository(session).active_for_lead(lead.id))
        if e.workflow_id not in planned
    ]
    return _CapturePlan(
        lead_id=lead.id,
        created=created,
        event=JourneyEvent(event_id=event.id, kind=kind, occurred_at=now),
        qualify=qualify,
        enrollment=plan,
        journey=journey,
        other_journeys=others,
    )


async def capture_lead(
    request: LeadCapture,
    principal: Principal,
    *,
    database: Database,
    temporal: Client,
    settings: Settings,
) -> CaptureResult:
    """Find or create the lead, record consent and the enquiry, and enroll it in a journey."""

    def work(session: Session) -> _CapturePlan:
        return _record_capture(session, request, principal, settings)

    plan = await write_once(database, work)

    try:
        running = await launch(temporal, settings.temporal_task_queue, plan.enrollment, plan.event)
        await journeys.deliver(temporal, plan.other_journeys, plan.event)
        if plan.qualify:
            await qualification.qualify(
                temporal,
                task_queue=settings.temporal_task_queue,
                lead_id=plan.lead_id,
                event_id=plan.event.event_id,
                decided=plan.qualify,
            )
    except RPCError as error:
        raise unavailable(
            f"lead {plan.lead_id} is saved but its journey could not be reached "
            f"({error.message}); send the same request again"
        ) from error
    journey = plan.journey
    status = None
    if journey is not None:
        status = JourneyStatus.ACTIVE if running.get(journey.workflow_id) else journey.status
    return CaptureResult(
        lead_id=plan.lead_id,
        created=plan.created,
        journey_workflow_id=journey.workflow_id if journey else None,
        journey_status=status,
        countdown_workflow_ids=[c.workflow_id for c in plan.enrollment.countdowns],
    )


def _lead_for(session: Session, lead_id: uuid.UUID, principal: Principal) -> Lead:
    lead = LeadRepository(session).get(lead_id)
    if lead is None:
        raise not_found(f"lead {lead_id}")
    if not principal.may_access_store(lead.store_id):
        raise forbidden("this lead belongs to a store your key cannot see")
    return lead


def _journeys(session: Session, lead_id: uuid.UUID) -> list[JourneySummary]:
    sequences = SequenceRepository(session)
    summaries = []
    for enrollment in EnrollmentRepository(session).for_lead(lead_id):
        version = sequences.get(enrollment.sequence_version_id)
        summaries.append(
            JourneySummary(
                workflow_id=enrollment.workflow_id,
                sequence_key=enrollment.sequence_key,
                sequence_version=version.version if version else 0,
                status=enrollment.status,
                outcome=enrollment.outcome,
                revenue_minor=enrollment.revenue_minor,
                currency=enrollment.currency,
                started_at=enrollment.started_at,
                ended_at=enrollment.ended_at,
            )
        )
    return summaries


async def read_journeys(
    lead_id: uuid.UUID, principal: Principal, *, database: Database, temporal: Client
) -> list[JourneyDetail]:
    """Each of the lead's journeys: its sequence and version, and where it is right now."""

    def read(session: Session) -> tuple[str, list[JourneySummary]]:
        lead = _lead_for(session, lead_id, principal)
        timezone = lead.timezone or session.get_one(Store, lead.store_id).timezone
        return timezone, _journeys(session, lead.id)

    timezone, summaries = await run_in_threadpool(database.read, read)
    details = []
    for summary in summaries:
        view = (
            await journeys.view(temporal, summary.workflow_id)
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


def read_lead(session: Session, lead_id: uuid.UUID, principal: Principal) -> LeadView:
    lead = _lead_for(session, lead_id, principal)
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
        consents=consents,
        journeys=_journeys(session, lead.id),
        **_qualification_view(session, lead),
    )


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


def read_timeline(session: Session, lead_id: uuid.UUID, principal: Principal) -> Timeline:
    lead = _lead_for(session, lead_id, principal)
    entries: list[TimelineEntry] = [
        EventEntry(
            at=event.occurred_at,
            event_id=event.id,
            kind=event.kind,
            source=event.source,
            payload=event.payload,
        )
        for event in EventRepository(session).for_lead(lead.id)
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
            held_until=touch.held_until,
            subject=touch.subject,
            body=touch.body,
            provider=touch.provider,
        )
        for touch in TouchRepository(session).for_lead(lead.id)
    ]
    entries.sort(key=lambda entry: entry.at)
    return Timeline(lead_id=lead.id, entries=entries, journeys=_journeys(session, lead.id))


@dataclass(frozen=True)
class _EventPlan:
    event: JourneyEvent
    duplicate: bool
    journeys: list[str]
    qualify: qualification.Decision | None  # someone must act on the event's score


def _record_event(
    session: Session,
    lead_id: uuid.UUID,
    request: EventIn,
    principal: Principal,
    settings: Settings,
) -> _EventPlan:
    lead = _lead_for(session, lead_id, principal)
    events = EventRepository(session)
    event = events.by_key(lead.store_id, request.event_id)
    duplicate = event is not None
    if event is None:
        payload = dict(request.payload)
        if request.revenue_minor is not None:
            payload["revenue_minor"] = request.revenue_minor
            payload["currency"] = request.currency or _store_currency(session, lead)
        event = events.add(
            Event(
                store_id=lead.store_id,
                lead_id=lead.id,
                kind=request.kind.value,
                source=request.source,
                payload=payload,
                occurred_at=request.occurred_at or utcnow(),
                idempotency_key=request.event_id,
            )
        )
    elif event.lead_id != lead.id or event.kind != request.kind.value:
        raise conflict(
            f"event_id {request.event_id!r} was already used for a different "
            f"{'lead' if event.lead_id != lead.id else 'kind of event'}; use a new event_id"
        )
    revenue = event.payload.get("revenue_minor")
    journey_event = JourneyEvent(
        event_id=event.id,
        kind=EventKind(event.kind),
        occurred_at=event.occurred_at,
        revenue_minor=revenue if isinstance(revenue, int) else None,
        currency=event.payload.get("currency") if isinstance(revenue, int) else None,
    )
    active = [e.workflow_id for e in EnrollmentRepository(session).active_for_lead(lead.id)]
    qualify = qualification.assess(session, lead, event, settings)
    return _EventPlan(journey_event, duplicate, active, qualify)


def _store_currency(session: Session, lead: Lead) -> str:
    return session.get_one(Store, lead.store_id).currency


async def record_event(
    lead_id: uuid.UUID,
    request: EventIn,
    principal: Principal,
    *,
    database: Database,
    temporal: Client,
    settings: Settings,
) -> EventRecorded:
    """Store the event once; signal it to the lead's running journeys (they dedupe by id)."""

    def work(session: Session) -> _EventPlan:
        return _record_event(session, lead_id, request, principal, settings)

    plan = await write_once(database, work)
    try:
        delivered = await journeys.deliver(temporal, plan.journeys, plan.event)
        if plan.qualify:
            await qualification.qualify(
                temporal,
                task_queue=settings.temporal_task_queue,
                lead_id=lead_id,
                event_id=plan.event.event_id,
                decided=plan.qualify,
            )
    except RPCError as error:
        raise unavailable(
            f"event saved but journeys could not be reached ({error.message}); "
            "send the same request again"
        ) from error
    return EventRecorded(
        event_id=plan.event.event_id, duplicate=plan.duplicate, delivered_to=delivered
    )
