"""Intake: a lead arrives, or something happens to a lead a door already knows.

`capture` (a web form, a QR code, the walk-in tablet, an Instagram lead form) finds or creates
the person, records their consent and their enquiry, scores them, and plans their journeys:
the newest journey for their segment (or the fallback) and a yearly countdown for each date
they gave. A returning person is the same lead, enquiring again.

`record_lead_event` (a store visit, a question, an appointment, a purchase posted by hand)
records the event once by the caller's id, scores the lead, and tells its journeys.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.settings import Settings
from core.workflow_ids import journey_workflow_id
from db.models import Event, Lead, Store
from db.repositories import Capture, EnrollmentRepository, EventRepository
from db.types import utcnow
from domain import consent
from domain.access import Actor
from domain.effects import Effects, QualifyOrder
from domain.enrollment import JourneyToStart, active_journeys, plan_countdowns, plan_journey
from domain.errors import InvalidField
from domain.events import (
    check_same_event,
    enquiry_keys,
    happening,
    new_event,
    record_enquiry_once,
    record_event_once,
)
from domain.leads import Details, Identity, find_or_create_lead, lead_for
from domain.reference import Reference
from domain.scoring import qualification_config, score_event
from sequences.vocabulary import Channel, EventKind


@dataclass(frozen=True)
class Captured:
    lead_id: uuid.UUID
    created: bool
    journey: JourneyToStart | None  # the segment's journey (started, or running already)
    effects: Effects

    @property
    def countdown_workflow_ids(self) -> list[str]:
        return [countdown.workflow_id for countdown in self.effects.countdowns]


def capture(
    session: Session,
    reference: Reference,
    settings: Settings,
    actor: Actor,
    *,
    store_id: uuid.UUID,
    source: str,
    who: Identity,
    details: Details,
    message: str | None,
    consented: list[Channel],
    consent_evidence: str | None,
    event_key: str | None = None,
    consent_submitted_at: datetime | None = None,
) -> Captured:
    """Find or create the lead, record consent and the enquiry, score it, plan its journeys.

    `event_key` is the door's own id for a new lead's first event (a WhatsApp message id): a
    retried callback then finds that event instead of recording the message again."""
    store = reference.store(session, store_id)
    if store is None:
        raise InvalidField("store_id", f"no store with id {store_id}")
    actor.check_store(store.id)
    config = qualification_config(settings)
    found = find_or_create_lead(session, store, who, details, source=source)
    lead, created = found.lead, found.created
    # A new lead has nothing to look up and is scored before it is written: with autoflush off
    # it takes two flushes (the lead with its score, then the rows that refer to it), not six.
    with session.no_autoflush if created else contextlib.nullcontext():
        now = utcnow()
        # The same person's identical enquiry within the window is one event (a retried form,
        # a double tap, a lead-ad re-sync): scored once, whatever the number of requests.
        window = timedelta(minutes=settings.enquiry_repeat_minutes)
        key, earlier_key = enquiry_keys(
            lead.id,
            source=source,
            segment=details.segment,
            message=message,
            at=now,
            window=window,
        )
        if created and event_key is not None:
            key = event_key
        event = new_event(
            store_id=lead.store_id,
            lead_id=lead.id,
            key=key,
            kind=EventKind.CAPTURED if created else EventKind.ENQUIRY,
            source=source,
            payload={"message": message} if message else {},
            occurred_at=now,
        )
        decided = None
        repeated = False
        if created:
            # Scored first, written after, so a new lead's INSERT comes before the rows that
            # refer to it.
            decided = score_event(session, reference, config, lead, event, new_lead=True)
            EventRepository(session).add(event, flush=False)
        else:
            recorded = record_enquiry_once(session, event, earlier_key=earlier_key, window=window)
            event = recorded.event
            repeated = not recorded.new
            if recorded.new:
                decided = score_event(session, reference, config, lead, event)
        if not repeated:  # a repeated capture changes no consent
            by_staff = actor.staff_id is not None  # a person at the counter, not a form
            kept_revoked = consent.grant_from_capture(
                session,
                lead.id,
                consented,
                Capture(
                    source=source,
                    captured_by=consent.CapturedBy.STAFF if by_staff else consent.CapturedBy.FORM,
                    captured_by_name=actor.name if by_staff else None,
                    evidence=consent_evidence,
                    given_at=consent_submitted_at or now,
                ),
                submitted=consent_submitted_at is not None,
                new_lead=created,
            )
            if kept_revoked:  # the timeline says why a ticked box changed nothing
                event.payload = {
                    **event.payload,
                    "consent_kept_revoked": [channel.value for channel in kept_revoked],
                }
        heard = happening(event)
        effects = Effects(start_event=heard)
        journey = None
        # The journey follows the segment as scored just now (the form's choice, or what the
        # message says), so a lead is welcomed once, by its own segment's journey.
        version = reference.newest_journey(session, lead.segment, settings.fallback_sequence_key)
        if version is not None:
            fallback = version.key == settings.fallback_sequence_key
            first_welcome = fallback and (
                created
                or EnrollmentRepository(session).by_workflow_id(
                    journey_workflow_id(lead.id, version.key)
                )
                is None
            )
            journey = plan_journey(session, reference, lead, version, new_lead=created)
            effects.journeys.append(journey)
            if first_welcome:
                _say_why_the_fallback(session, lead, event, version.key)
        effects.countdowns = plan_countdowns(session, reference, lead, new_lead=created)
        planned = {j.workflow_id for j in effects.journeys} | {
            c.workflow_id for c in effects.countdowns
        }
        others = [] if created else active_journeys(session, lead.id)
        effects.deliver(heard, [wid for wid in others if wid not in planned])
        if decided is not None:
            effects.qualify.append(QualifyOrder(lead.id, event.id, decided))
    return Captured(
        lead_id=lead.id,
        created=created,
        journey=journey,
        effects=effects,
    )


def _say_why_the_fallback(session: Session, lead: Lead, capture: Event, key: str) -> None:
    """Put on the timeline why the lead got the generic welcome (and a person a task)
    rather than a journey of its own: no segment was told, or its segment has none yet."""
    if lead.segment:
        why = f"No journey is published for the segment {lead.segment.replace('_', ' ')}"
    else:
        why = "No segment could be told from the enquiry"
    EventRepository(session).add(
        new_event(
            store_id=lead.store_id,
            lead_id=lead.id,
            key=f"{capture.idempotency_key}:fallback",
            kind=EventKind.NOTE,
            source="facet",
            payload={
                "note": f"{why}: sent the neutral welcome ({key}) and asked an associate "
                "to choose the next steps",
                "journey_fallback": key,
                "segment": lead.segment,
            },
            occurred_at=capture.occurred_at,
        ),
        flush=False,
    )


@dataclass(frozen=True)
class EventRecorded:
    event_id: uuid.UUID
    duplicate: bool
    effects: Effects


def record_lead_event(
    session: Session,
    reference: Reference,
    settings: Settings,
    actor: Actor,
    lead_id: uuid.UUID,
    *,
    key: str,
    kind: EventKind,
    source: str,
    payload: dict[str, Any],
    occurred_at: datetime | None,
    revenue_minor: int | None = None,
    currency: str | None = None,
) -> EventRecorded:
    """Record the event once (`key` is the caller's id for it), score the lead for it, and
    tell the lead's running journeys. A key reused for another lead or kind is a Conflict.
    An `opted_out` event is a stop staff heard: it writes the consent ledger."""
    lead = lead_for(session, lead_id, actor)
    payload = dict(payload)
    if kind is EventKind.OPTED_OUT and payload.get("channel") is not None:
        names = [channel.value for channel in Channel]
        if payload["channel"] not in names:  # a list: an unhashable value is simply not in it
            raise InvalidField(
                "payload.channel", f"one of {', '.join(names)}, or none for every channel"
            )
    if revenue_minor is not None:
        payload["revenue_minor"] = revenue_minor
        payload["currency"] = currency or session.get_one(Store, lead.store_id).currency
    recorded = record_event_once(
        session,
        new_event(
            store_id=lead.store_id,
            lead_id=lead.id,
            key=key,
            kind=kind,
            source=source,
            payload=payload,
            occurred_at=occurred_at or utcnow(),
        ),
    )
    check_same_event(recorded, lead_id=lead.id, kind=kind)
    event = recorded.event
    effects = Effects()
    if kind is EventKind.OPTED_OUT:
        stopped = _opt_out_said_to_staff(session, actor, lead, event, recorded.new)
        if stopped:  # a stop on one channel ends no journey; nothing left to reach does
            effects.deliver(happening(event), active_journeys(session, lead.id))
    else:
        effects.deliver(happening(event), active_journeys(session, lead.id))
    decided = score_event(session, reference, qualification_config(settings), lead, event)
    if decided is not None:
        effects.qualify.append(QualifyOrder(lead.id, event.id, decided))
    return EventRecorded(event_id=event.id, duplicate=not recorded.new, effects=effects)


def _opt_out_said_to_staff(
    session: Session, actor: Actor, lead: Lead, event: Event, new: bool
) -> bool:
    """Staff recorded the lead's stop: on `payload.channel`, every purpose on it; with no
    channel, a full opt-out — marketing on every channel (receipts and service messages
    still go). True when the lead's journeys should hear it: a full opt-out, or nothing left
    that can reach the lead."""
    named = event.payload.get("channel")
    if new:
        note = event.payload.get("note") or event.payload.get("text")
        said = Capture(
            source=event.source,
            captured_by=consent.CapturedBy.STAFF,
            captured_by_name=actor.name,
            evidence=str(note) if note else f"recorded by {actor.name}",
            given_at=event.occurred_at,
        )
        if named is None:
            for channel in Channel:
                consent.stop(session, lead.id, channel, said, consent.MARKETING_ONLY)
        else:
            consent.stop(session, lead.id, Channel(named), said)
    return named is None or consent.stopped_everywhere(session, lead)
