"""What provider callbacks change: the consent ledger, touches, events, review tasks.

Each function is one unit of work and returns the journey signals to send after it commits
(the same two-step shape as lead capture: rows first, then Temporal). A provider retrying a
callback finds its event by idempotency key and only the signals are sent again; journeys
deduplicate them by event id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.vocabulary import TouchStatus
from db.models import Event, Lead, Task, Touch
from db.repositories import (
    ConsentRepository,
    EnrollmentRepository,
    EventRepository,
    LeadRepository,
    TaskRepository,
    TouchRepository,
    WebhookReceiptRepository,
)
from providers.sendgrid.webhook import EmailEvent
from sequences.inbound import InboundKind, classify_inbound
from sequences.vocabulary import Channel, EventKind, Purpose, StaffRole
from workflows.journey import JourneyEvent

# A touch's status moves forward only: a late "delivered" never hides a "clicked".
_PROGRESS = {
    TouchStatus.SENT: 1,
    TouchStatus.DELIVERED: 2,
    TouchStatus.UNDELIVERED: 3,
    TouchStatus.BOUNCED: 3,
    TouchStatus.FAILED: 3,
    TouchStatus.OPENED: 4,
    TouchStatus.CLICKED: 5,
    TouchStatus.REPLIED: 6,
}

REVIEW_STOP_REQUEST = "review_stop_request"


@dataclass(frozen=True)
class Signal:
    """A journey event to send to the lead's running journeys once the rows are committed."""

    event: JourneyEvent
    journeys: list[str]
    lead_id: uuid.UUID


@dataclass(frozen=True)
class InboundOutcome:
    kind: InboundKind
    signals: list[Signal]
    help_text: str | None


def _signal(session: Session, event: Event) -> Signal:
    journeys = [e.workflow_id for e in EnrollmentRepository(session).active_for_lead(event.lead_id)]
    return Signal(
        JourneyEvent(event_id=event.id, kind=EventKind(event.kind), occurred_at=event.occurred_at),
        journeys,
        event.lead_id,
    )


def _event_once(
    session: Session,
    lead: Lead,
    key: str,
    kind: EventKind,
    source: str,
    payload: dict[str, Any],
    at: datetime,
) -> tuple[Event, bool]:
    events = EventRepository(session)
    existing = events.by_key(lead.store_id, key)
    if existing is not None:
        return existing, False
    event = events.add(
        Event(
            store_id=lead.store_id,
            lead_id=lead.id,
            kind=kind.value,
            source=source,
            payload=payload,
            occurred_at=at,
            idempotency_key=key,
        )
    )
    return event, True


_INBOUND_EVENTS = {
    InboundKind.OPT_OUT: EventKind.OPTED_OUT,
    InboundKind.OPT_IN: EventKind.OPTED_IN,
    InboundKind.HELP: EventKind.INBOUND_MESSAGE,
    InboundKind.STOP_REQUEST: EventKind.REPLY,
    InboundKind.REPLY: EventKind.REPLY,
}


def record_inbound(
    session: Session, *, message_sid: str, phone: str, channel: Channel, text: str, now: datetime
) -> InboundOutcome:
    """An SMS or WhatsApp message from a lead: keywords, stop requests and replies."""
    kind = classify_inbound(text)
    signals: list[Signal] = []
    help_text = None
    for lead in LeadRepository(session).by_phone(phone):
        payload: dict[str, Any] = {"channel": channel.value, "text": text}
        event, new = _event_once(
            session,
            lead,
            f"twilio:{message_sid}",
            _INBOUND_EVENTS[kind],
            channel.value,
            payload,
            now,
        )
        consents = ConsentRepository(session)
        if kind is InboundKind.OPT_OUT or kind is InboundKind.STOP_REQUEST:
            via = "keyword" if kind is InboundKind.OPT_OUT else "plain_words_stop_request"
            consents.revoke(lead.id, channel, via=f"{channel.value}:{via}", evidence=None, at=now)
        elif kind is InboundKind.OPT_IN and new:
            consents.grant(
                lead.id,
                channel,
                Purpose.MARKETING,
                source=f"{channel.value}:keyword",
                evidence=text,
                at=now,
            )
        if kind is InboundKind.STOP_REQUEST and new:
            TaskRepository(session).add(
                Task(
                    store_id=lead.store_id,
                    lead_id=lead.id,
                    kind=REVIEW_STOP_REQUEST,
                    role_needed=StaffRole.ASSOCIATE,
                    assignee_id=lead.owner_id,
                    reason=(
                        f"The lead asked in their own words to stop ({channel.value}). Marketing "
                        "on that channel is stopped; confirm their choice with them."
                    ),
                    sla_due_at=now + timedelta(hours=24),
                )
            )
        if kind is InboundKind.HELP:
            help_text = "Reply STOP to stop messages, START to resume."
        else:
            signals.append(_signal(session, event))
    return InboundOutcome(kind, signals, help_text)


def _advance(touch: Touch, status: TouchStatus, reason: str | None = None) -> bool:
    if _PROGRESS.get(status, 0) <= _PROGRESS.get(touch.status, 0):
        return False
    touch.status = status
    touch.reason = reason or touch.reason
    return True


def record_delivery(
    session: Session, *, provider_message_id: str, status: TouchStatus | None, reason: str | None
) -> bool:
    """A provider's delivery report for the touch it sent as `provider_message_id`; True if
    the touch changed."""
    touch = TouchRepository(session).by_provider_message_id(provider_message_id)
    if status is None or touch is None:
        return False
    changed = _advance(touch, status, reason)
    session.flush()
    return changed


@dataclass(frozen=True)
class SendGridOutcome:
    processed: int
    duplicates: int
    signals: list[Signal]


def _touch_for(session: Session, event: EmailEvent) -> Touch | None:
    touches = TouchRepository(session)
    touch = touches.get(event.touch_id) if event.touch_id is not None else None
    if touch is None and event.message_id:
        touch = touches.by_provider_message_id(event.message_id)
    return touch


def record_sendgrid_events(
    session: Session, events: list[EmailEvent], now: datetime
) -> SendGridOutcome:
    """SendGrid's event batch: each sg_event_id counts once, however often it is posted."""
    receipts = WebhookReceiptRepository(session)
    processed = duplicates = 0
    signals: list[Signal] = []
    for item in events:
        event_id, name = item.event_id, item.name
        if not receipts.first_time("sendgrid", event_id):
            duplicates += 1
            continue
        processed += 1
        touch = _touch_for(session, item)
        if touch is None:
            continue
        if item.status is not None:
            _advance(touch, item.status, f"sendgrid_{name}")
            if item.bounce:
                lead = session.get_one(Lead, touch.lead_id)
                lead.email_invalid_reason = "bounce"
        if item.opt_out:
            lead = session.get_one(Lead, touch.lead_id)
            ConsentRepository(session).revoke(
                lead.id, Channel.EMAIL, via=f"sendgrid:{name}", evidence=event_id, at=now
            )
            event, _new = _event_once(
                session,
                lead,
                f"sendgrid:{event_id}",
                EventKind.OPTED_OUT,
                "sendgrid",
                {"event": name},
                now,
            )
            signals.append(_signal(session, event))
        session.flush()
    return SendGridOutcome(processed, duplicates, signals)


def unsubscribe(
    session: Session, lead_id: uuid.UUID, channel: Channel, now: datetime
) -> list[Signal]:
    """One-click unsubscribe; idempotent (a second click changes nothing, signals again)."""
    lead = LeadRepository(session).get(lead_id)
    if lead is None:
        return []
    ConsentRepository(session).revoke(
        lead.id, channel, via="one_click_unsubscribe", evidence=None, at=now
    )
    event, _new = _event_once(
        session,
        lead,
        f"unsubscribe:{lead.id}:{channel.value}",
        EventKind.OPTED_OUT,
        "unsubscribe_link",
        {"channel": channel.value},
        now,
    )
    return [_signal(session, event)]
