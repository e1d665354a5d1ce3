"""The send activity: the gate, the outbox claim, the provider call, the record.

A step's Touch row (unique by (workflow id, step id)) moves through
`held` (quiet hours) → `claimed` (committed before the provider is called) → `sending`
(committed just before the HTTP call) → `sent`. A retry that finds `claimed` sends (the
earlier attempt died before calling); a retry that finds `sending` never calls the provider
again, because the provider may have accepted the message: it records `failed` with reason
`outcome_unknown` instead. SendGrid and Twilio have no idempotency keys, so this is the
only way to promise "never twice". The outbox, from which nothing leaves Facet, is claimed and
marked `sent` in one unit of work: a dry-run message is one write, not three.

The gate's clock is the Temporal server's (the attempt's scheduled/started time), so quiet
hours and caps follow the journey's time, also on the time-skipping test server.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import phonenumbers
from markupsafe import escape as _escape
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.gate import (
    BlockReason,
    ChannelFacts,
    GateDecision,
    candidate_channels,
    choose_channel,
    over_frequency_cap,
    whatsapp_window_open,
)
from activities.payloads import ABANDON_SEND, SEND_MESSAGE, SendRequest, SendResult
from core.settings import Settings
from core.tokens import unsubscribe_token
from core.vocabulary import FailureReason, SuppressionReason, TouchStatus
from db.models import Event, Lead, Store, Touch
from db.repositories import (
    ConsentRepository,
    EnrollmentRepository,
    EventRepository,
    LeadRepository,
    PurchaseRepository,
    StaffRepository,
    TouchRepository,
)
from db.session import Database
from providers.base import OutgoingMessage, ProviderError, ProviderReceipt, Registry
from sequences.send_window import Recipient, local_day, next_send_time, zone_of
from sequences.templates import (
    MergeFields,
    RenderedMessage,
    content_variables,
    load_template,
    render,
)
from sequences.vocabulary import Channel, EventKind, Purpose

log = logging.getLogger(__name__)

# Statuses after which a step is done: a retry answers with the row and sends nothing.
FINAL_STATUSES = frozenset(TouchStatus) - {
    TouchStatus.HELD,
    TouchStatus.CLAIMED,
    TouchStatus.SENDING,
}

# The error type a transient provider failure raises; the retry policy retries it.
PROVIDER_UNAVAILABLE = "ProviderUnavailable"


@dataclass(frozen=True)
class _Step:
    touch: Touch
    message: OutgoingMessage | None  # set when the touch still has to go to the provider
    duplicate: bool = False


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


def gate_clock() -> datetime:
    """Now, as the Temporal server sees it for this attempt (skips with time-skipping)."""
    info = activity.info()
    return max(info.current_attempt_scheduled_time, info.started_time)


class MessagingActivities:
    """Sends journey messages through the configured providers, exactly once per step."""

    def __init__(self, database: Database, providers: Registry, settings: Settings) -> None:
        self._db = database
        self._providers = providers
        self._settings = settings

    @activity.defn(name=SEND_MESSAGE)
    def send_message(self, request: SendRequest) -> SendResult:
        """Gate, claim and send one step's message; a retry never sends it twice."""
        now = gate_clock()
        refused: dict[Channel, BlockReason] = {}

        def claim(session: Session) -> _Step:
            return self._send_here(
                session, request, self._prepare(session, request, now, refused), now
            )

        step = self._db.run(claim)
        while step.message is not None:
            step = self._deliver(request, step.message, now, refused)
        return self._result(step.touch, duplicate=step.duplicate)

    def _send_here(
        self, session: Session, request: SendRequest, step: _Step, now: datetime
    ) -> _Step:
        """Send a claimed step in the claim's own unit of work if its provider is repeatable.

        Nothing of such a send (the outbox) leaves Facet, so it needs no `sending` mark
        committed before the call: one write of the SQLite file per message instead of three,
        which the API's captures would otherwise wait behind. A refusal leaves the touch
        claimed, for `_deliver` to call the provider again and record the refusal.
        """
        message = step.message
        if message is None or not self._providers.repeatable(message.channel):
            return step
        try:
            receipt = self._providers.send(message)
        except ProviderError:
            return step
        return _Step(self._sent(session, request, message, receipt, now), None)

    def _sent(
        self,
        session: Session,
        request: SendRequest,
        message: OutgoingMessage,
        receipt: ProviderReceipt,
        now: datetime,
    ) -> Touch:
        touch = TouchRepository(session).mark_sent(
            message.touch_id,
            provider=receipt.provider,
            provider_message_id=receipt.message_id,
            at=now,
        )
        log.info("lead %s step %s sent by %s", request.lead_id, request.step_id, receipt.provider)
        return touch

    def _deliver(
        self,
        request: SendRequest,
        message: OutgoingMessage,
        now: datetime,
        refused: dict[Channel, BlockReason],
    ) -> _Step:
        """Mark the claimed touch `sending`, call the provider, record what it said."""
        touch_id = message.touch_id
        if not self._db.run(
            lambda session: TouchRepository(session).move(
                touch_id, expected=TouchStatus.CLAIMED, to=TouchStatus.SENDING
            )
        ):
            return _Step(self._db.run(lambda session: session.get_one(Touch, touch_id)), None, True)
        try:
            receipt = self._providers.send(message)
        except ProviderError as error:
            if not error.permanent:
                self._db.run(
                    lambda session: TouchRepository(session).move(
                        touch_id, expected=TouchStatus.SENDING, to=TouchStatus.CLAIMED
                    )
                )
                delay = timedelta(seconds=error.retry_after) if error.retry_after else None
                raise ApplicationError(
                    str(error), type=PROVIDER_UNAVAILABLE, next_retry_delay=delay
                ) from error
            failure = error
        else:
            return _Step(
                self._db.run(lambda session: self._sent(session, request, message, receipt, now)),
                None,
            )
        log.info(
            "lead %s step %s: %s refused %s (%s); gating again",
            request.lead_id,
            request.step_id,
            failure.provider,
            message.channel,
            failure.reason,
        )
        refused[message.channel] = _block_reason(failure.reason)
        return self._db.run(
            lambda session: self._after_refusal(session, request, message, failure, now, refused)
        )

    @activity.defn(name=ABANDON_SEND)
    def abandon_send(self, request: SendRequest) -> SendResult:
        """The send ran out of retries: record it as failed so the timeline says so."""

        def work(session: Session) -> Touch | None:
            touch = TouchRepository(session).by_key(request.idempotency_key)
            if touch is not None and touch.status in (TouchStatus.CLAIMED, TouchStatus.SENDING):
                touch.reason = (
                    FailureReason.RETRIES_EXHAUSTED
                    if touch.status is TouchStatus.CLAIMED
                    else FailureReason.OUTCOME_UNKNOWN
                )
                touch.status = TouchStatus.FAILED
                session.flush()
            return touch

        touch = self._db.run(work)
        if touch is None:
            raise ApplicationError(
                f"no touch for {request.idempotency_key}", type="UnknownTouch", non_retryable=True
            )
        return self._result(touch, duplicate=False)

    # --- one unit of work each -----------------------------------------------------------

    def _prepare(
        self,
        session: Session,
        request: SendRequest,
        now: datetime,
        refused: dict[Channel, BlockReason],
    ) -> _Step:
        touch = TouchRepository(session).by_key(request.idempotency_key)
        if touch is not None and touch.status in FINAL_STATUSES:
            return _Step(touch, None, duplicate=True)
        if (
            touch is not None
            and touch.status is TouchStatus.SENDING
            and touch.channel is not None
            and self._providers.repeatable(touch.channel)
        ):
            touch.status = TouchStatus.CLAIMED  # e.g. the outbox: nothing left Facet
            session.flush()
        if touch is not None and touch.status is TouchStatus.SENDING:
            # An earlier attempt called the provider and died before hearing back: the
            # message may have gone out, so it is never sent again.
            touch.status = TouchStatus.FAILED
            touch.reason = FailureReason.OUTCOME_UNKNOWN
            session.flush()
            log.warning("lead %s step %s: outcome unknown", request.lead_id, request.step_id)
            return _Step(touch, None, duplicate=True)
        if touch is not None and touch.status is TouchStatus.CLAIMED:
            lead, store = self._lead_and_store(session, request)
            return _Step(touch, self._message(session, request, touch, lead, store))
        return self._gate(session, request, now, refused, touch)

    def _after_refusal(
        self,
        session: Session,
        request: SendRequest,
        message: OutgoingMessage,
        error: ProviderError,
        now: datetime,
        refused: dict[Channel, BlockReason],
    ) -> _Step:
        """Record a permanent refusal where it belongs, then gate the step again."""
        lead, _store = self._lead_and_store(session, request)
        evidence = f"{error.provider} status {error.status} code {error.code}"
        if error.reason == SuppressionReason.OPTED_OUT:
            ConsentRepository(session).revoke(
                lead.id, message.channel, via=error.provider, evidence=evidence, at=now
            )
        elif error.reason == SuppressionReason.INVALID_CONTACT:
            if message.channel is Channel.EMAIL:
                lead.email_invalid_reason = error.reason
            else:
                lead.phone_invalid_reason = error.reason
        EventRepository(session).add(
            Event(
                store_id=lead.store_id,
                lead_id=lead.id,
                kind=EventKind.DELIVERY_FAILED.value,
                source=error.provider,
                payload={
                    "touch_id": str(message.touch_id),
                    "channel": message.channel.value,
                    "reason": error.reason,
                    "status": error.status,
                    "code": error.code,
                },
                occurred_at=now,
                idempotency_key=f"delivery_failed:{message.touch_id}:{message.channel.value}",
            )
        )
        touch = session.get_one(Touch, message.touch_id)
        return self._gate(session, request, now, refused, touch)

    # --- the gate ------------------------------------------------------------------------

    def _gate(
        self,
        session: Session,
        request: SendRequest,
        now: datetime,
        refused: dict[Channel, BlockReason],
        touch: Touch | None,
    ) -> _Step:
        lead, store = self._lead_and_store(session, request)
        recipient = recipient_of(lead, store)
        opens = next_send_time(now, recipient, request.purpose)
        if opens > now:
            held = self._write(
                session,
                request,
                lead,
                touch,
                status=TouchStatus.HELD,
                decision=GateDecision(None, None, SuppressionReason.QUIET_HOURS),
                rendered=None,
                held_until=opens,
            )
            return _Step(held, None)

        decision = self._decide(session, lead, request, now, refused)
        if decision.channel is not None and self._capped(session, lead, store, request, now):
            decision = GateDecision(None, decision.channel, SuppressionReason.FREQUENCY_CAP)
        fields = _merge_fields(session, request, lead, store)
        rendered = self._render(request.template, decision, lead, store, fields)
        status = TouchStatus.CLAIMED if decision.channel else TouchStatus.SUPPRESSED
        row = self._write(
            session, request, lead, touch, status=status, decision=decision, rendered=rendered
        )
        if row.status is not TouchStatus.CLAIMED or status is not TouchStatus.CLAIMED:
            return _Step(row, None, duplicate=row.status is not status)
        return _Step(row, self._message(session, request, row, lead, store, fields))

    def _decide(
        self,
        session: Session,
        lead: Lead,
        request: SendRequest,
        now: datetime,
        refused: dict[Channel, BlockReason],
    ) -> GateDecision:
        allowed = ConsentRepository(session).allowed_channels(lead.id, request.purpose)
        template = load_template(request.template)
        variants = template.channels()
        candidates = candidate_channels(request.channel, lead.preferred_channel)
        last_whatsapp = EventRepository(session).last_inbound(lead.id, Channel.WHATSAPP.value)
        facts = {
            channel: ChannelFacts(
                has_contact=_contact(lead, channel) is not None,
                consented=channel in allowed,
                template_has_variant=channel in variants,
                contact_invalid=_contact_invalid(lead, channel),
                window_open=channel is not Channel.WHATSAPP
                or whatsapp_window_open(last_whatsapp, now),
                has_approved_template=self._approved_sid(request.template) is not None,
                provider_refused=refused.get(channel),
            )
            for channel in candidates
        }
        return choose_channel(candidates, facts)

    def _capped(
        self, session: Session, lead: Lead, store: Store, request: SendRequest, now: datetime
    ) -> bool:
        if request.purpose is Purpose.TRANSACTIONAL:
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

    @staticmethod
    def _lead_and_store(session: Session, request: SendRequest) -> tuple[Lead, Store]:
        lead = LeadRepository(session).get(request.lead_id)
        if lead is None:
            raise ApplicationError(
                f"lead {request.lead_id} does not exist", type="UnknownLead", non_retryable=True
            )
        return lead, session.get_one(Store, lead.store_id)

    def _write(
        self,
        session: Session,
        request: SendRequest,
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
            "subject": rendered.subject if rendered else None,
            "body": rendered.body if rendered else None,
            # A step held for quiet hours keeps when it was held until, once it goes out too,
            # so the timeline still shows that it waited.
            "held_until": held_until or (touch.held_until if touch is not None else None),
            "content_sid": None,
            "content_variables": None,
        }
        if decision.use_approved_template:
            fields["content_sid"] = self._approved_sid(request.template)
        if touch is None:
            claimed, _new = TouchRepository(session).claim(
                Touch(
                    id=uuid.uuid4(),
                    lead_id=lead.id,
                    enrollment_id=request.enrollment_id,
                    step_id=request.step_id,
                    purpose=request.purpose,
                    template=request.template,
                    idempotency_key=request.idempotency_key,
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
        request: SendRequest,
        touch: Touch,
        lead: Lead,
        store: Store,
        fields: MergeFields | None = None,
    ) -> OutgoingMessage:
        """The provider's message for a claimed touch (`fields`: when the caller has them)."""
        channel = touch.channel
        to = _contact(lead, channel) if channel else None
        if channel is None or to is None or touch.body is None:
            raise ApplicationError(
                f"touch {touch.id} was claimed without a channel, contact point or body",
                type="BrokenTouch",
                non_retryable=True,
            )
        template = load_template(touch.template)
        fields = fields if fields is not None else _merge_fields(session, request, lead, store)
        enrollment = EnrollmentRepository(session).by_workflow_id(request.workflow_id)
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
        )

    def _approved_sid(self, template_name: str) -> str | None:
        """The store's approved WhatsApp template for this message: settings, then the file."""
        configured = self._settings.whatsapp_content_sids.get(template_name)
        return configured or load_template(template_name).whatsapp_content_sid

    def _unsubscribe_url(self, lead_id: uuid.UUID) -> str:
        token = unsubscribe_token(self._settings.secret_key.get_secret_value(), lead_id)
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

    @staticmethod
    def _result(touch: Touch, *, duplicate: bool) -> SendResult:
        return SendResult(
            touch_id=touch.id,
            status=touch.status,
            channel=touch.channel,
            reason=touch.reason,
            duplicate=duplicate,
            deferred_until=touch.held_until if touch.status is TouchStatus.HELD else None,
        )


def _merge_fields(session: Session, request: SendRequest, lead: Lead, store: Store) -> MergeFields:
    """What a template may say about this lead, read at send time."""
    owner = StaffRepository(session).get(lead.owner_id) if lead.owner_id else None
    return MergeFields(
        first_name=lead.first_name or "there",
        store_name=store.name,
        store_phone=store.phone or "",
        store_address=store.address or "",
        associate_name=owner.name if owner else "",
        occasion_date=_spoken_date(request.occasion_date),
        items=", ".join(PurchaseRepository(session).latest_items(lead.id)),
    )


def _spoken_date(day: date | None) -> str:
    """A date the way a letter says it: "14 June"."""
    return f"{day.day} {day:%B}" if day else ""


def _block_reason(reason: str) -> BlockReason:
    for kind in (SuppressionReason, FailureReason):
        if reason in kind._value2member_map_:
            return kind(reason)
    return FailureReason.PROVIDER_REJECTED
