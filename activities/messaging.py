"""The send activity: the gate, the outbox claim, the provider call, the record."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session
from temporalio import activity

from activities.gate import ChannelFacts, GateDecision, candidate_channels, choose_channel
from activities.payloads import SEND_MESSAGE, SendRequest, SendResult
from activities.providers.base import OutgoingMessage, Providers
from db.models import Lead, Store, Touch
from db.repositories import (
    ConsentRepository,
    LeadRepository,
    PurchaseRepository,
    StaffRepository,
    TouchRepository,
)
from db.session import Database
from db.types import utcnow
from sequences.templates import MergeFields, RenderedMessage, load_template, render
from sequences.vocabulary import Channel, Purpose, TouchStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Claim:
    touch: Touch
    newly_claimed: bool
    message: OutgoingMessage | None  # set when the touch still has to go to the provider


def _spoken_date(day: date | None) -> str:
    """A date the way a letter says it: "14 June"."""
    return f"{day.day} {day:%B}" if day else ""


def _contact(lead: Lead, channel: Channel) -> str | None:
    return lead.email if channel is Channel.EMAIL else lead.phone_e164


class MessagingActivities:
    """Sends journey messages through the configured providers, exactly once per step."""

    def __init__(self, database: Database, providers: Providers) -> None:
        self._db = database
        self._providers = providers

    @activity.defn(name=SEND_MESSAGE)
    def send_message(self, request: SendRequest) -> SendResult:
        """Gate, claim and send one step's message; a retry never sends it twice."""
        claim = self._db.run(lambda session: self._claim(session, request))
        touch = claim.touch
        if claim.message is None:
            return self._result(touch, duplicate=not claim.newly_claimed)

        receipt = self._providers.send(claim.message)
        sent = self._db.run(
            lambda session: TouchRepository(session).mark_sent(
                touch.id,
                provider=receipt.provider,
                provider_message_id=receipt.message_id,
                at=utcnow(),
            )
        )
        log.info("lead %s step %s sent by %s", request.lead_id, request.step_id, receipt.provider)
        return self._result(sent, duplicate=False)

    def _claim(self, session: Session, request: SendRequest) -> _Claim:
        touches = TouchRepository(session)
        lead = LeadRepository(session).get(request.lead_id)
        if lead is None:
            raise ValueError(f"lead {request.lead_id} does not exist")
        store = session.get_one(Store, lead.store_id)
        decision = self._decide(session, lead, request)
        owner = StaffRepository(session).get(lead.owner_id) if lead.owner_id else None
        fields = MergeFields(
            first_name=lead.first_name or "there",
            store_name=store.name,
            store_phone=store.phone or "",
            store_address=store.address or "",
            associate_name=owner.name if owner else "",
            occasion_date=_spoken_date(request.occasion_date),
            items=", ".join(PurchaseRepository(session).latest_items(lead.id)),
        )
        rendered = self._render(request.template, decision, fields)
        touch, newly_claimed = touches.claim(
            Touch(
                id=uuid.uuid4(),
                lead_id=lead.id,
                enrollment_id=request.enrollment_id,
                step_id=request.step_id,
                channel=decision.channel or decision.considered,
                purpose=request.purpose,
                template=request.template,
                idempotency_key=request.idempotency_key,
                status=TouchStatus.CLAIMED if decision.channel else TouchStatus.SUPPRESSED,
                reason=decision.reason.value if decision.reason else None,
                subject=rendered.subject if rendered else None,
                body=rendered.body if rendered else None,
            )
        )
        # Only a claimed touch still owes a provider call: the first attempt's, or one whose
        # attempt died before recording the provider's answer.
        if touch.status is not TouchStatus.CLAIMED or touch.channel is None:
            return _Claim(touch, newly_claimed, None)
        to = _contact(lead, touch.channel)
        if to is None or touch.body is None:
            raise ValueError(f"touch {touch.id} was claimed without a contact point or body")
        message = OutgoingMessage(
            touch_id=touch.id, channel=touch.channel, to=to, subject=touch.subject, body=touch.body
        )
        return _Claim(touch, newly_claimed, message)

    def _decide(self, session: Session, lead: Lead, request: SendRequest) -> GateDecision:
        consents = ConsentRepository(session)
        variants = load_template(request.template).channels()
        candidates = candidate_channels(request.channel, lead.preferred_channel)
        facts = {
            channel: ChannelFacts(
                has_contact=_contact(lead, channel) is not None,
                consented=self._consented(consents, lead.id, channel, request.purpose),
                template_has_variant=channel in variants,
            )
            for channel in candidates
        }
        return choose_channel(candidates, facts)

    @staticmethod
    def _consented(
        consents: ConsentRepository, lead_id: uuid.UUID, channel: Channel, purpose: Purpose
    ) -> bool:
        if consents.is_revoked_anywhere(lead_id, channel):
            return False
        if purpose is Purpose.TRANSACTIONAL:
            return True
        return consents.is_granted(lead_id, channel, purpose)

    @staticmethod
    def _render(
        template: str, decision: GateDecision, fields: MergeFields
    ) -> RenderedMessage | None:
        channel = decision.channel or decision.considered
        if channel is None or channel not in load_template(template).channels():
            return None
        return render(template, channel, fields)

    @staticmethod
    def _result(touch: Touch, *, duplicate: bool) -> SendResult:
        return SendResult(
            touch_id=touch.id,
            status=touch.status,
            channel=touch.channel,
            reason=touch.reason,
            duplicate=duplicate,
        )
