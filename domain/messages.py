"""Messages: the life of a Touch, and what a journey step sends to its lead.

A step's Touch row (unique by (workflow id, step id)) moves through
`held` (quiet hours) → `claimed` (committed before the provider is called) → `sending`
(committed just before the HTTP call) → `sent` → delivered, opened, clicked … as the
provider reports; with no provider configured, `outbox` instead of `sent` (kept in Facet,
nothing left it). A retry that finds `claimed` sends (the earlier attempt died before
calling); a retry that finds `sending` never calls the provider again, because the provider
may have accepted the message: it records `failed` with reason `outcome_unknown` instead.
SendGrid and Twilio have no idempotency keys, so this is the only way to promise "never
twice". Staff notices (`domain.notices`) live the same life with their own rules; the
activities' send pipeline drives both.

For a lead, the send gate decides at send time, not when the step was planned: quiet hours,
consent, the channel (and its fallbacks), the WhatsApp window and the frequency caps. What is
not sent stays on the timeline as `suppressed` (or `held`) with its reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, Protocol

import phonenumbers
from markupsafe import escape as _escape
from sqlalchemy.orm import Session

from core.settings import Settings
from core.vocabulary import FailureReason, SuppressionReason, TouchStatus
from db.models import Enrollment, Lead, Store, Touch
from db.repositories import (
    Capture,
    EnrollmentRepository,
    EventRepository,
    LeadRepository,
    PurchaseRepository,
    StaffRepository,
    TouchRepository,
)
from domain import catalogue, consent
from domain.errors import BrokenTouch, UnknownLead
from domain.events import new_event, record_event_once
from domain.gate import (
    BlockReason,
    ChannelFacts,
    GateDecision,
    candidate_channels,
    choose_channel,
    over_frequency_cap,
    whatsapp_window_open,
)
from domain.reply_address import reply_address
from providers.base import OutgoingMessage, ProviderError, ProviderReceipt
from sequences.send_window import Recipient, local_day, next_send_time, zone_of
from sequences.templates import (
    MergeFields,
    Pick,
    RenderedMessage,
    content_variables,
    load_template,
    render,
    spoken_price,
)
from sequences.vocabulary import Channel, EventKind, Purpose

log = logging.getLogger(__name__)

# Statuses after which a step is done: a retry answers with the row and sends nothing.
FINAL_STATUSES = frozenset(TouchStatus) - {
    TouchStatus.HELD,
    TouchStatus.CLAIMED,
    TouchStatus.SENDING,
}

# A touch's status moves forward only: a late "delivered" never hides a "clicked".
PROGRESS = {
    TouchStatus.SENT: 1,
    TouchStatus.OUTBOX: 1,
    TouchStatus.DELIVERED: 2,
    TouchStatus.UNDELIVERED: 3,
    TouchStatus.BOUNCED: 3,
    TouchStatus.FAILED: 3,
    TouchStatus.OPENED: 4,
    TouchStatus.CLICKED: 5,
    TouchStatus.REPLIED: 6,
}


@dataclass(frozen=True)
class Step:
    """Where a message stands after a unit of work: its touch, and the provider's message
    when it still has to go out."""

    touch: Touch
    message: OutgoingMessage | None
    duplicate: bool = False  # an earlier attempt had already handled it


# --- the life of a touch ----------------------------------------------------------------------


def begin_sending(session: Session, touch_id: uuid.UUID) -> bool:
    """Mark a claimed touch `sending`, just before the provider is called; False if another
    attempt moved it first."""
    return TouchRepository(session).move(
        touch_id, expected=TouchStatus.CLAIMED, to=TouchStatus.SENDING
    )


def hand_back(session: Session, touch_id: uuid.UUID) -> None:
    """The provider failed for now (429, 5xx, unreachable): the claim waits for the retry."""
    TouchRepository(session).move(touch_id, expected=TouchStatus.SENDING, to=TouchStatus.CLAIMED)


def record_sent(
    session: Session, touch_id: uuid.UUID, receipt: ProviderReceipt, at: datetime
) -> Touch:
    """The provider took the message, or the outbox kept it: the touch says which."""
    touch = TouchRepository(session).mark_sent(
        touch_id,
        provider=receipt.provider,
        provider_message_id=receipt.message_id,
        at=at,
        status=TouchStatus.SENT if receipt.left_facet else TouchStatus.OUTBOX,
    )
    log.info("touch %s (lead %s) %s by %s", touch.id, touch.lead_id, touch.status, receipt.provider)
    return touch


def record_failed(session: Session, touch_id: uuid.UUID, reason: str) -> Touch:
    """A refusal that will not change: the touch is `failed` with the provider's reason."""
    touch = session.get_one(Touch, touch_id)
    touch.status = TouchStatus.FAILED
    touch.reason = reason
    session.flush()
    return touch


def abandon(session: Session, idempotency_key: str) -> Touch | None:
    """Retries ran out: a claimed touch failed (`retries_exhausted`); one caught mid-call may
    have gone out (`outcome_unknown`). None when the step has no touch."""
    touch = TouchRepository(session).by_key(idempotency_key)
    if touch is not None and touch.status in (TouchStatus.CLAIMED, TouchStatus.SENDING):
        touch.reason = (
            FailureReason.RETRIES_EXHAUSTED
            if touch.status is TouchStatus.CLAIMED
            else FailureReason.OUTCOME_UNKNOWN
        )
        touch.status = TouchStatus.FAILED
        session.flush()
    return touch


def resume(
    session: Session, touch: Touch | None, repeatable: Callable[[Channel], bool]
) -> Step | None:
    """What a retry finds of its step: done (a duplicate), a claim to send, or nothing yet.

    A touch found `sending` may have reached the provider, so it is never sent again: it
    becomes `failed` / `outcome_unknown` — unless its provider is repeatable (the outbox:
    nothing left Facet), which sends it again.
    """
    if touch is None:
        return None
    if touch.status in FINAL_STATUSES:
        return Step(touch, None, duplicate=True)
    if (
        touch.status is TouchStatus.SENDING
        and touch.channel is not None
        and repeatable(touch.channel)
    ):
        touch.status = TouchStatus.CLAIMED
        session.flush()
    if touch.status is TouchStatus.SENDING:
        touch.status = TouchStatus.FAILED
        touch.reason = FailureReason.OUTCOME_UNKNOWN
        session.flush()
        log.warning("touch %s (lead %s): outcome unknown", touch.id, touch.lead_id)
        return Step(touch, None, duplicate=True)
    return None


def advance(touch: Touch, status: TouchStatus, reason: str | None = None) -> bool:
    """Move a sent touch on as its provider reports (forward only); True if it moved."""
    if PROGRESS.get(status, 0) <= PROGRESS.get(touch.status, 0):
        return False
    touch.status = status
    touch.reason = reason or touch.reason
    return True


def refusal_reason(reason: str) -> BlockReason:
    """A provider's refusal as the gate reads it: a suppression, or a failure."""
    for kind in (SuppressionReason, FailureReason):
        if reason in kind._value2member_map_:
            return kind(reason)
    return FailureReason.PROVIDER_REJECTED


# --- a journey step's message to its lead ------------------------------------------------------


class MessageOrder(Protocol):
    """What a journey asks to send: one step's template to one lead, once per key."""

    @property
    def workflow_id(self) -> str: ...
    @property
    def step_id(self) -> str: ...
    @property
    def lead_id(self) -> uuid.UUID: ...
    @property
    def enrollment_id(self) -> uuid.UUID | None: ...
    @property
    def channel(self) -> Channel | Literal["preferred"]: ...
    @property
    def template(self) -> str: ...
    @property
    def purpose(self) -> Purpose: ...
    @property
    def occasion_date(self) -> date | None: ...
    @property
    def idempotency_key(self) -> str: ...


def _contact(lead: Lead, channel: Channel) -> str | None:
    return lead.email if channel is Channel.EMAIL else lead.phone_e164


def _contact_invalid(lead: Lead, channel: Channel) -> bool:
    reason = lead.email_invalid_reason if channel is Channel.EMAIL else lead.phone_invalid_reason
    return reason is not None


def recipient_of(lead: Lead, store: Store) -> Recipient:
    """Where the lead is: the phone number's country, else the store's; the lead's zone.

    The state is known only for a lead in the store's own country (the store's state);
    otherwise it is unknown and the strictest window of that country applies.
    """
    country: str | None = store.country
    if lead.phone_e164:
        try:
            number = phonenumbers.parse(lead.phone_e164)
            country = phonenumbers.region_code_for_number(number) or store.country
        except phonenumbers.NumberParseException:
            country = store.country
    region = store.region if country == store.country else None
    return Recipient(country=country, region=region, timezone=lead.timezone or store.timezone)


def lead_and_store(session: Session, lead_id: uuid.UUID) -> tuple[Lead, Store]:
    lead = LeadRepository(session).get(lead_id)
    if lead is None:
        raise UnknownLead(lead_id)
    return lead, session.get_one(Store, lead.store_id)


class LeadMessages:
    """The send gate and the provider's message for one journey step, at send time.

    `repeatable(channel)`: whether that channel's provider may be called again harmlessly
    (the outbox); a step caught `sending` on such a channel is sent again.
    """

    def __init__(self, settings: Settings, repeatable: Callable[[Channel], bool]) -> None:
        self._settings = settings
        self._repeatable = repeatable

    def prepare(
        self,
        session: Session,
        order: MessageOrder,
        now: datetime,
        refused: dict[Channel, BlockReason],
    ) -> Step:
        """The step's touch: already done, claimed and ready to send, held or suppressed."""
        touch = TouchRepository(session).by_key(order.idempotency_key)
        found = resume(session, touch, self._repeatable)
        if found is not None:
            return found
        if touch is not None and touch.status is TouchStatus.CLAIMED:
            lead, store = lead_and_store(session, order.lead_id)
            return Step(touch, self._message(session, order, touch, lead, store))
        return self._gate(session, order, now, refused, touch)

    def after_refusal(
        self,
        session: Session,
        order: MessageOrder,
        message: OutgoingMessage,
        error: ProviderError,
        now: datetime,
        refused: dict[Channel, BlockReason],
    ) -> Step:
        """Record a permanent refusal where it belongs, then gate the step again (a
        `preferred` step tries the next channel)."""
        refused[message.channel] = refusal_reason(error.reason)
        log.info(
            "lead %s step %s: %s refused %s (%s); gating again",
            order.lead_id,
            order.step_id,
            error.provider,
            message.channel,
            error.reason,
        )
        lead, _store = lead_and_store(session, order.lead_id)
        evidence = f"{error.provider} status {error.status} code {error.code}"
        if error.reason == SuppressionReason.OPTED_OUT:
            consent.stop(
                session,
                lead.id,
                message.channel,
                Capture(
                    source=error.provider,
                    captured_by=consent.CapturedBy.PROVIDER,
                    evidence=evidence,
                    given_at=now,
                ),
            )
        elif error.reason == SuppressionReason.INVALID_CONTACT:
            if message.channel is Channel.EMAIL:
                lead.email_invalid_reason = error.reason
            else:
                lead.phone_invalid_reason = error.reason
        record_event_once(
            session,
            new_event(
                store_id=lead.store_id,
                lead_id=lead.id,
                key=f"delivery_failed:{message.touch_id}:{message.channel.value}",
                kind=EventKind.DELIVERY_FAILED,
                source=error.provider,
                payload={
                    "touch_id": str(message.touch_id),
                    "channel": message.channel.value,
                    "reason": error.reason,
                    "status": error.status,
                    "code": error.code,
                },
                occurred_at=now,
            ),
        )
        touch = session.get_one(Touch, message.touch_id)
        return self._gate(session, order, now, refused, touch)

    # --- the gate ------------------------------------------------------------------------

    def _gate(
        self,
        session: Session,
        order: MessageOrder,
        now: datetime,
        refused: dict[Channel, BlockReason],
        touch: Touch | None,
    ) -> Step:
        lead, store = lead_and_store(session, order.lead_id)
        recipient = recipient_of(lead, store)
        opens = next_send_time(now, recipient, order.purpose)
        if opens > now:
            held = self._write(
                session,
                order,
                lead,
                touch,
                status=TouchStatus.HELD,
                decision=GateDecision(None, None, SuppressionReason.QUIET_HOURS),
                rendered=None,
                held_until=opens,
            )
            return Step(held, None)

        decision = self._decide(session, lead, order, now, refused)
        if decision.channel is not None and self._capped(session, lead, store, order, now):
            decision = GateDecision(None, decision.channel, SuppressionReason.FREQUENCY_CAP)
        fields = _merge_fields(session, order, lead, store)
        rendered = self._render(order.template, decision, lead, store, fields)
        status = TouchStatus.CLAIMED if decision.channel else TouchStatus.SUPPRESSED
        row = self._write(
            session, order, lead, touch, status=status, decision=decision, rendered=rendered
        )
        if rendered is not None and fields.picks and row.shown_skus is None:
            row.shown_skus = [pick.sku for pick in fields.picks]  # what the message showed
        if row.status is not TouchStatus.CLAIMED or status is not TouchStatus.CLAIMED:
            return Step(row, None, duplicate=row.status is not status)
        return Step(row, self._message(session, order, row, lead, store, fields))

    def _decide(
        self,
        session: Session,
        lead: Lead,
        order: MessageOrder,
        now: datetime,
        refused: dict[Channel, BlockReason],
    ) -> GateDecision:
        states = consent.channel_states(session, lead.id)
        template = load_template(order.template)
        variants = template.channels()
        candidates = candidate_channels(order.channel, lead.preferred_channel)
        last_whatsapp = EventRepository(session).last_inbound(lead.id, Channel.WHATSAPP.value)
        window_open = whatsapp_window_open(last_whatsapp, now)
        facts = {}
        for channel in candidates:
            open_now = channel is not Channel.WHATSAPP or window_open
            held_back = consent.block(states[channel], channel, order.purpose, window_open=open_now)
            facts[channel] = ChannelFacts(
                has_contact=_contact(lead, channel) is not None,
                consented=held_back is None,
                opted_out=held_back is SuppressionReason.OPTED_OUT,
                template_has_variant=channel in variants,
                contact_invalid=_contact_invalid(lead, channel),
                window_open=open_now,
                has_approved_template=self._approved_sid(order.template) is not None,
                provider_refused=refused.get(channel),
            )
        asked_preferred = order.channel == "preferred"
        return choose_channel(
            candidates, facts, preferred=lead.preferred_channel if asked_preferred else None
        )

    def _capped(
        self, session: Session, lead: Lead, store: Store, order: MessageOrder, now: datetime
    ) -> bool:
        if order.purpose is Purpose.TRANSACTIONAL:
            return False
        zone = zone_of(recipient_of(lead, store))
        sent = TouchRepository(session).marketing_sent_times(lead.id, now - timedelta(days=8))
        return over_frequency_cap(
            (local_day(at, zone) for at in sent),
            local_day(now, zone),
            per_day=store.max_marketing_per_day or self._settings.max_marketing_per_day,
            per_week=store.max_marketing_per_week or self._settings.max_marketing_per_week,
        )

    # --- rows and messages ---------------------------------------------------------------

    def _write(
        self,
        session: Session,
        order: MessageOrder,
        lead: Lead,
        touch: Touch | None,
        *,
        status: TouchStatus,
        decision: GateDecision,
        rendered: RenderedMessage | None,
        held_until: datetime | None = None,
    ) -> Touch:
        """Claim a new row for the step, or move the step's held/refused row on."""
        fields = {
            "channel": decision.channel or decision.considered,
            "status": status,
            "reason": decision.reason.value if decision.reason else None,
            "fell_back_from": decision.fell_back_from,
            "subject": rendered.subject if rendered else None,
            "body": rendered.body if rendered else None,
            # A step held for quiet hours keeps when it was held until, once it goes out too,
            # so the timeline still shows that it waited.
            "held_until": held_until or (touch.held_until if touch is not None else None),
            "content_sid": None,
            "content_variables": None,
        }
        if decision.use_approved_template:
            fields["content_sid"] = self._approved_sid(order.template)
        if touch is None:
            journey = (
                None
                if order.enrollment_id is None
                else session.get(Enrollment, order.enrollment_id)
            )
            claimed, _new = TouchRepository(session).claim(
                Touch(
                    id=uuid.uuid4(),
                    lead_id=lead.id,
                    store_id=lead.store_id,
                    enrollment_id=order.enrollment_id,
                    sequence_key=journey.sequence_key if journey is not None else None,
                    step_id=order.step_id,
                    purpose=order.purpose,
                    template=order.template,
                    idempotency_key=order.idempotency_key,
                    **fields,
                )
            )
            return claimed
        for name, value in fields.items():
            setattr(touch, name, value)
        session.flush()
        return touch

    def _message(
        self,
        session: Session,
        order: MessageOrder,
        touch: Touch,
        lead: Lead,
        store: Store,
        fields: MergeFields | None = None,
    ) -> OutgoingMessage:
        """The provider's message for a claimed touch (`fields`: when the caller has them)."""
        channel = touch.channel
        to = _contact(lead, channel) if channel else None
        if channel is None or to is None or touch.body is None:
            raise BrokenTouch(touch.id)
        template = load_template(touch.template)
        fields = fields if fields is not None else _merge_fields(session, order, lead, store)
        enrollment = EnrollmentRepository(session).by_workflow_id(order.workflow_id)
        unsubscribe = self._unsubscribe_url(lead.id)
        return OutgoingMessage(
            touch_id=touch.id,
            channel=channel,
            to=to,
            subject=touch.subject,
            body=touch.body,
            lead_id=lead.id,
            category=enrollment.sequence_key if enrollment else None,
            unsubscribe_url=unsubscribe if channel is Channel.EMAIL else None,
            email_template_id=(
                self._settings.sendgrid_template_ids.get(touch.template)
                or template.sendgrid_template_id
                if channel is Channel.EMAIL
                else None
            ),
            template_data={
                **fields.model_dump(),
                "unsubscribe_url": unsubscribe,
            },
            content_sid=touch.content_sid,
            content_variables=content_variables(touch.template, fields)
            if touch.content_sid
            else {},
            purpose=order.purpose,
            reply_to=self._reply_to(lead.id) if channel is Channel.EMAIL else None,
        )

    def _reply_to(self, lead_id: uuid.UUID) -> str | None:
        domain = self._settings.sendgrid_reply_domain
        if not domain:
            return None
        return reply_address(self._settings.secret_key.get_secret_value(), lead_id, domain)

    def _approved_sid(self, template_name: str) -> str | None:
        """The store's approved WhatsApp template for this message: settings, then the file."""
        configured = self._settings.whatsapp_content_sids.get(template_name)
        return configured or load_template(template_name).whatsapp_content_sid

    def _unsubscribe_url(self, lead_id: uuid.UUID) -> str:
        token = consent.unsubscribe_token(self._settings.secret_key.get_secret_value(), lead_id)
        return f"{self._settings.public_base_url.rstrip('/')}/v1/unsubscribe/{token}"

    def _render(
        self,
        template: str,
        decision: GateDecision,
        lead: Lead,
        store: Store,
        fields: MergeFields,
    ) -> RenderedMessage | None:
        channel = decision.channel or decision.considered
        if channel is None or channel not in load_template(template).channels():
            return None
        rendered = render(template, channel, fields)
        if channel is not Channel.EMAIL:
            return rendered
        # CAN-SPAM: every marketing email carries the sender's postal address and a way out.
        footer = (
            f'<hr><p style="font-size:12px;color:#666">{_escape(store.name)}'
            f"{', ' + _escape(store.address) if store.address else ''}<br>"
            f'<a href="{self._unsubscribe_url(lead.id)}">Unsubscribe</a></p>'
        )
        return RenderedMessage(subject=rendered.subject, body=rendered.body + footer)


def _merge_fields(session: Session, order: MessageOrder, lead: Lead, store: Store) -> MergeFields:
    """What a template may say about this lead, read at send time."""
    owner = StaffRepository(session).get(lead.owner_id) if lead.owner_id else None
    return MergeFields(
        first_name=lead.first_name or "there",
        store_name=store.name,
        store_phone=store.phone or "",
        store_address=store.address or "",
        associate_name=owner.name if owner else "",
        occasion_date=_spoken_date(order.occasion_date),
        items=", ".join(PurchaseRepository(session).latest_items(lead.id)),
        picks=_picks(session, order, lead, store),
    )


def _picks(session: Session, order: MessageOrder, lead: Lead, store: Store) -> tuple[Pick, ...]:
    """Pieces from stock for a template that shows some (read here, at send time)."""
    if not load_template(order.template).uses("picks"):
        return ()
    return tuple(
        Pick(
            sku=piece.sku,
            title=piece.title,
            metal=" ".join(part for part in (piece.purity, piece.metal) if part),
            price=spoken_price(piece.price_minor, piece.currency or store.currency),
            image_url=piece.image_url or "",
        )
        for piece in catalogue.picks_for(session, lead)
    )


def _spoken_date(day: date | None) -> str:
    """A date the way a letter says it: "14 June"."""
    return f"{day.day} {day:%B}" if day else ""
