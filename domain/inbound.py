"""What comes back from the people Facet messages: texts, delivery reports, unsubscribes.

Every provider callback is recorded once (a provider retries and replays deliveries), changes
the consent ledger, touches and events, and returns the `Effects` for Temporal: the lead's
running journeys hear of the event, and qualification runs. A retried callback finds its rows
and only the Temporal calls go again; journeys deduplicate them by event id.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.settings import Settings
from core.vocabulary import ApiRole, LeadSource, TouchStatus
from db.models import Event, Lead, Touch
from db.repositories import (
    Capture,
    LeadRepository,
    StoreRepository,
    TouchRepository,
    WebhookReceiptRepository,
)
from domain import consent
from domain.access import Actor
from domain.consent import HELP_TEXT, InboundKind, classify_inbound
from domain.effects import Effects, QualifyOrder
from domain.enrollment import active_journeys
from domain.events import happening, new_event, record_event_once
from domain.intake import capture
from domain.leads import Details, Identity, lead_for, normalise_email
from domain.messages import advance
from domain.reference import Reference
from domain.reply_address import lead_replied_to
from domain.tasks import escalation, open_task
from sequences.vocabulary import Channel, EventKind, Priority, Purpose, StaffRole

log = logging.getLogger(__name__)

REVIEW_STOP_REQUEST = "review_stop_request"
REVIEW_SLA = timedelta(hours=24)

_INBOUND_EVENTS = {
    InboundKind.OPT_OUT: EventKind.OPTED_OUT,
    InboundKind.OPT_IN: EventKind.OPTED_IN,
    InboundKind.HELP: EventKind.INBOUND_MESSAGE,
    InboundKind.STOP_REQUEST: EventKind.REPLY,
    InboundKind.REPLY: EventKind.REPLY,
}


def _heard(effects: Effects, session: Session, event: Event) -> None:
    """The lead's running journeys hear of the event, and qualification runs for it."""
    effects.deliver(happening(event), active_journeys(session, event.lead_id))
    effects.qualify.append(QualifyOrder(event.lead_id, event.id))


@dataclass(frozen=True)
class Inbound:
    kind: InboundKind
    help_text: str | None  # what to answer a HELP with
    effects: Effects
    leads: int = 0  # the leads whose number or address it came from


@dataclass(frozen=True)
class Newcomers:
    """What it takes to welcome a WhatsApp message from a number no lead has: it becomes a
    lead of `store_id` (None: the only branch, when there is just one)."""

    reference: Reference
    settings: Settings
    store_id: uuid.UUID | None = None


def record_text(
    session: Session,
    *,
    message_id: str,
    phone: str,
    channel: Channel,
    text: str,
    now: datetime,
    newcomers: Newcomers | None = None,
    sender_name: str | None = None,
) -> Inbound:
    """An SMS or WhatsApp message from a number: for each store's lead with that number, a
    keyword (STOP, START, HELP), a stop request in plain words, or a reply. A WhatsApp
    message (not a keyword) from a number no lead has is a new lead, given `newcomers`, named
    as the sender's WhatsApp profile names them (`sender_name`)."""
    kind = classify_inbound(text)
    effects = Effects()
    leads = LeadRepository(session).by_phone(phone)
    if not leads and newcomers is not None and channel is Channel.WHATSAPP:
        if kind is InboundKind.REPLY:
            effects = _welcome_newcomer(session, newcomers, message_id, phone, text, sender_name)
        return Inbound(kind, HELP_TEXT if kind is InboundKind.HELP else None, effects)
    for lead in leads:
        _lead_wrote(
            session,
            effects,
            lead,
            Written(
                key=f"twilio:{message_id}",
                kind=kind,
                channel=channel,
                payload={"channel": channel.value, "text": text},
                evidence=text,
                source=f"{channel.value}:keyword",
            ),
            now,
        )
    return Inbound(kind, HELP_TEXT if kind is InboundKind.HELP else None, effects)


@dataclass(frozen=True)
class Written:
    """One message a lead wrote, in Facet's words: its event and what a keyword would change."""

    key: str  # the event's idempotency key: the provider's message id
    kind: InboundKind
    channel: Channel
    payload: dict[str, Any]
    evidence: str  # what the consent ledger keeps of their words
    source: str  # where the ledger says the words came from
    stops: tuple[Purpose, ...] = consent.EVERY_PURPOSE  # what a STOP keyword revokes


def _lead_wrote(
    session: Session, effects: Effects, lead: Lead, written: Written, now: datetime
) -> bool:
    """Record what the lead wrote once, then act on it: a STOP revokes `written.stops` on the
    channel; plain words asking to stop revoke marketing and ask a person to confirm; START
    opts back in; anything but HELP reaches the journeys and qualification. A redelivery
    changes nothing again (a STOP after START), and only tells Temporal again. True when it
    was recorded now (not a redelivery)."""
    kind, channel = written.kind, written.channel
    recorded = record_event_once(
        session,
        new_event(
            store_id=lead.store_id,
            lead_id=lead.id,
            key=written.key,
            kind=_INBOUND_EVENTS[kind],
            source=channel.value,
            payload=written.payload,
            occurred_at=now,
        ),
    )
    event = recorded.event
    said = Capture(
        source=written.source,
        captured_by=consent.CapturedBy.WEBHOOK,
        evidence=written.evidence,
        given_at=now,
    )
    if kind is InboundKind.OPT_OUT:
        if recorded.new:
            consent.stop(session, lead.id, channel, said, written.stops)
        _opt_out_heard(effects, session, lead, event)
        return recorded.new
    if recorded.new and kind is InboundKind.STOP_REQUEST:
        # Plain words: marketing stops; a person confirms the rest with them.
        asked = replace(said, source=f"{channel.value}:plain_words_stop_request")
        consent.stop(session, lead.id, channel, asked, consent.MARKETING_ONLY)
        _review_stop_request(session, effects, lead, event, channel, now)
    elif recorded.new and kind is InboundKind.OPT_IN:
        consent.opt_in(session, lead.id, channel, said)
    if kind is not InboundKind.HELP:
        _heard(effects, session, event)
    return recorded.new


@dataclass(frozen=True)
class EmailFromLead:
    """An email someone sent to the store's reply address (SendGrid Inbound Parse)."""

    key: str  # unique per message (a digest of its Message-ID): a redelivery counts once
    sender: str  # the From address
    subject: str
    text: str  # the whole body: kept with the event, never logged or given to a journey
    reply: str  # what they wrote above the quoted thread: where STOP words are read
    recipients: tuple[str, ...] = ()  # where it was sent: a lead's reply address names them


def record_email(session: Session, email: EmailFromLead, now: datetime, secret: str) -> Inbound:
    """An email from a lead — the lead its reply address names (signed with `secret`), else
    each store's lead with the sender's address — acting as an
    SMS reply does: a journey that pauses on replies pauses and opens a task for the lead's
    owner; a STOP word (the whole reply) stops marketing email, receipts still go; a stop
    asked in plain words stops marketing email and asks a person to confirm. START and HELP
    are plain replies here: a yes to a question in an email is no opt-in. An address no lead
    has is left unrecorded."""
    kind = classify_inbound(email.reply)
    if kind in (InboundKind.OPT_IN, InboundKind.HELP):
        kind = InboundKind.REPLY
    effects = Effects()
    leads = _writers(session, email, secret)
    for lead in leads:
        wrote = _lead_wrote(
            session,
            effects,
            lead,
            Written(
                key=f"email:{email.key}",
                kind=kind,
                channel=Channel.EMAIL,
                payload={
                    "channel": Channel.EMAIL.value,
                    "subject": email.subject[:300],
                    "text": email.text,
                },
                evidence=email.reply[:500],
                source="email:reply",
                # An email STOP leaves marketing email: receipts and service messages still go.
                stops=consent.MARKETING_ONLY,
            ),
            now,
        )
        if wrote:
            _answered(session, lead)
    log.info("an email reply matched %d lead(s)", len(leads))
    return Inbound(kind, None, effects, len(leads))


# An email that went out and may be answered (not the outbox's: nothing reached the lead).
_ANSWERABLE = frozenset(
    {TouchStatus.SENT, TouchStatus.DELIVERED, TouchStatus.OPENED, TouchStatus.CLICKED}
)


def _answered(session: Session, lead: Lead) -> None:
    """The lead's newest email that went out is the one they replied to: it shows `replied`."""
    emails = [
        touch
        for touch in TouchRepository(session).for_lead(lead.id)
        if touch.channel is Channel.EMAIL
        and touch.staff_id is None
        and touch.sent_at is not None
        and touch.status in _ANSWERABLE
    ]
    if emails:
        newest = max(emails, key=lambda touch: touch.sent_at or touch.created_at)
        advance(newest, TouchStatus.REPLIED)


def _writers(session: Session, email: EmailFromLead, secret: str) -> list[Lead]:
    """Who wrote: the lead of the reply address it was sent to (a reply from any of their
    addresses), else every store's lead with the sender's address."""
    repository = LeadRepository(session)
    named = lead_replied_to(secret, email.recipients)
    lead = repository.get(named) if named is not None else None
    if lead is not None:
        return [lead]
    try:
        address = normalise_email(email.sender)
    except ValueError:
        return []
    return list(repository.by_email(address)) if address else []


def _welcome_newcomer(
    session: Session,
    newcomers: Newcomers,
    message_id: str,
    phone: str,
    text: str,
    sender_name: str | None,
) -> Effects:
    """Someone wrote to the store on WhatsApp first: a lead (source whatsapp, preferring
    WhatsApp) captured with their message. Their message opened WhatsApp's 24-hour window, so
    the journey's welcome (a service message) goes at once; marketing waits for their consent.
    The message id keys the first event, so a retried callback captures nothing twice."""
    store_id = newcomers.store_id
    if store_id is None:
        stores = StoreRepository(session).all()
        store_id = stores[0].id if len(stores) == 1 else None
    if store_id is None or newcomers.reference.store(session, store_id) is None:
        # No branch to give them to: the message is left unrecorded, as before this rule.
        log.warning("a WhatsApp message from an unknown number: set WHATSAPP_STORE_ID")
        return Effects()
    captured = capture(
        session,
        newcomers.reference,
        newcomers.settings,
        Actor(None, "whatsapp", ApiRole.ASSOCIATE, store_id, None),
        store_id=store_id,
        source=LeadSource.WHATSAPP.value,
        who=Identity(phone=phone),
        details=Details(
            first_name=(sender_name or "").strip()[:100] or None,
            preferred_channel=Channel.WHATSAPP,
        ),
        message=text,
        consented=[],
        consent_evidence=None,
        event_key=f"twilio:{message_id}",
    )
    return captured.effects


def _review_stop_request(
    session: Session, effects: Effects, lead: Lead, event: Event, channel: Channel, now: datetime
) -> None:
    """Marketing on the channel is stopped; a person confirms the choice with the lead."""
    opened = open_task(
        session,
        lead_id=lead.id,
        kind=REVIEW_STOP_REQUEST,
        role_needed=StaffRole.ASSOCIATE,
        reason=(
            f"The lead asked in their own words to stop ({channel.value}). Marketing "
            "on that channel is stopped; confirm their choice with them."
        ),
        priority=Priority.WARM,
        sla=REVIEW_SLA,
        idempotency_key=f"{REVIEW_STOP_REQUEST}:{event.id}",
        requested_at=now,
    )
    started = escalation(opened, REVIEW_SLA)
    if started is not None:
        effects.escalations.append(started)


@dataclass(frozen=True)
class DeliveryReport:
    """A provider's report on a message it carried, in Facet's words.

    `receipt_id` (with `source`) makes a report count once when the provider numbers its
    reports (SendGrid's sg_event_id); None when the report itself is idempotent.
    """

    source: str  # sendgrid, twilio
    touch_id: uuid.UUID | None
    provider_message_id: str | None
    status: TouchStatus | None
    reason: str | None = None
    receipt_id: str | None = None
    name: str = ""  # the provider's word for it: delivered, open, spamreport, …
    bounce: bool = False  # the address cannot receive: stop using it
    opt_out: bool = False  # the person unsubscribed or reported spam: stop email
    marketing_only: bool = False  # an unsubscribe: marketing email stops, receipts still go
    # A person opened the message or clicked a link in it (never a machine's prefetch): the
    # lead's event, which scores and which a journey step may wait for.
    engagement: EventKind | None = None
    occurred_at: datetime | None = None  # when the provider says it happened


@dataclass(frozen=True)
class Reported:
    processed: int
    duplicates: int
    changed: int
    effects: Effects


def _touch_for(session: Session, report: DeliveryReport) -> Touch | None:
    touches = TouchRepository(session)
    touch = touches.get(report.touch_id) if report.touch_id is not None else None
    if touch is None and report.provider_message_id:
        touch = touches.by_provider_message_id(report.provider_message_id)
    return touch


def record_reports(session: Session, reports: list[DeliveryReport], now: datetime) -> Reported:
    """Delivery and engagement reports: touches move on (forward only), a bounce marks the
    address invalid, an unsubscribe or spam report stops email."""
    receipts = WebhookReceiptRepository(session)
    processed = duplicates = changed = 0
    effects = Effects()
    for report in reports:
        if report.receipt_id is not None and not receipts.first_time(
            report.source, report.receipt_id
        ):
            duplicates += 1
            continue
        processed += 1
        touch = _touch_for(session, report)
        if touch is None:
            continue
        if report.status is not None and advance(touch, report.status, report.reason):
            changed += 1
        if touch.staff_id is not None:
            # A task notice to a member of staff, about the lead: their opening it, or their
            # address bouncing, says nothing of the lead, whose consent and score stay as
            # they are.
            session.flush()
            continue
        if report.bounce:
            session.get_one(Lead, touch.lead_id).email_invalid_reason = "bounce"
        if report.engagement is not None:
            _engaged(session, effects, touch, report, now)
        if report.opt_out:
            _opted_out(
                session,
                effects,
                session.get_one(Lead, touch.lead_id),
                Channel.EMAIL,
                Capture(
                    source=f"{report.source}:{report.name}",
                    captured_by=consent.CapturedBy.WEBHOOK,
                    evidence=report.receipt_id,
                    given_at=now,
                ),
                consent.MARKETING_ONLY if report.marketing_only else consent.EVERY_PURPOSE,
                key=f"{report.source}:{report.receipt_id}",
                source=report.source,
                payload={"event": report.name, "channel": Channel.EMAIL.value},
            )
        session.flush()
    return Reported(processed, duplicates, changed, effects)


def _engaged(
    session: Session, effects: Effects, touch: Touch, report: DeliveryReport, now: datetime
) -> None:
    """An open or a click becomes the lead's event once per message: a second open of the
    same email, or the provider posting the batch again, is the same event (keyed by the
    touch), so re-reading one email does not inflate the score."""
    assert report.engagement is not None
    lead = session.get_one(Lead, touch.lead_id)
    recorded = record_event_once(
        session,
        new_event(
            store_id=lead.store_id,
            lead_id=lead.id,
            key=f"{report.engagement.value}:{touch.id}",
            kind=report.engagement,
            source=report.source,
            payload={
                "channel": Channel.EMAIL.value,
                "touch_id": str(touch.id),
                "step_id": touch.step_id,
                "template": touch.template,
            },
            occurred_at=min(report.occurred_at or now, now),
        ),
    )
    # Told again on a later open of the same message: journeys and qualification deduplicate
    # by event id, and a first telling that Temporal missed is made good.
    _heard(effects, session, recorded.event)


def unsubscribe(session: Session, lead_id: uuid.UUID, channel: Channel, now: datetime) -> Effects:
    """One-click unsubscribe; idempotent (a second click changes nothing, tells again). An
    email unsubscribe leaves marketing: receipts and service messages still go."""
    effects = Effects()
    lead = LeadRepository(session).get(lead_id)
    if lead is None:
        return effects
    _opted_out(
        session,
        effects,
        lead,
        channel,
        Capture(
            source="one_click_unsubscribe",
            captured_by=consent.CapturedBy.LINK,
            evidence="the unsubscribe link in an email",
            given_at=now,
        ),
        consent.MARKETING_ONLY if channel is Channel.EMAIL else consent.EVERY_PURPOSE,
        key=f"unsubscribe:{lead.id}:{channel.value}",
        source="unsubscribe_link",
        payload={"channel": channel.value},
    )
    return effects


def spoken_opt_out(
    session: Session, actor: Actor, lead_id: uuid.UUID, channel: Channel, *, key: str, now: datetime
) -> Effects:
    """A member of staff heard the lead say stop (on a call, in the store): the ledger says so
    at once, as captured by that person, and the lead's journeys hear it."""
    lead = lead_for(session, lead_id, actor)
    effects = Effects()
    _opted_out(
        session,
        effects,
        lead,
        channel,
        Capture(
            source=f"said to {actor.name}"[:64],  # who heard it; the event names their account
            captured_by=consent.CapturedBy.STAFF,
            captured_by_name=actor.name,
            evidence=f"said to {actor.name}",
            given_at=now,
        ),
        consent.EVERY_PURPOSE,
        key=key,
        source="console",
        payload={"channel": channel.value, "captured_by": str(actor.key_id)},
    )
    return effects


def _opted_out(
    session: Session,
    effects: Effects,
    lead: Lead,
    channel: Channel,
    capture: Capture,
    purposes: tuple[Purpose, ...],
    *,
    key: str,
    source: str,
    payload: dict[str, Any],
) -> None:
    """The lead said stop on `channel`: the ledger says so at once, and the `opted_out` event
    is recorded once (by `key`)."""
    consent.stop(session, lead.id, channel, capture, purposes)
    recorded = record_event_once(
        session,
        new_event(
            store_id=lead.store_id,
            lead_id=lead.id,
            key=key,
            kind=EventKind.OPTED_OUT,
            source=source,
            payload=payload,
            occurred_at=capture.given_at,
        ),
    )
    _opt_out_heard(effects, session, lead, recorded.event)


def _opt_out_heard(effects: Effects, session: Session, lead: Lead, event: Event) -> None:
    """A stop on one channel ends no journey: the send gate keeps that channel's steps off it
    (they fall back or are suppressed, with the reason). Journeys hear `opted_out` only once
    nothing can reach the lead any more; qualification scores it either way."""
    if consent.stopped_everywhere(session, lead):
        _heard(effects, session, event)
    else:
        effects.qualify.append(QualifyOrder(event.lead_id, event.id))
