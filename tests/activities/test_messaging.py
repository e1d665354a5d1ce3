"""The send activity against a real database: exactly one touch and one provider call per
(workflow id, step id), however often Temporal retries it."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import ActivityEnvironment

from activities.messaging import MessagingActivities
from activities.payloads import SendRequest
from activities.providers.base import OutgoingMessage, ProviderReceipt, Providers
from activities.providers.outbox import OutboxProvider
from db.models import Touch
from db.repositories import TouchRepository
from sequences.vocabulary import Channel, Purpose, TouchStatus
from tests.factories import make_lead, touches


class CountingOutbox(OutboxProvider):
    """The outbox provider, counting what reaches it."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def _receipt(self, message: OutgoingMessage) -> ProviderReceipt:
        self.sent.append(message)
        return super()._receipt(message)


@pytest.fixture
def outbox() -> CountingOutbox:
    return CountingOutbox()


@pytest.fixture
def messaging(database, outbox) -> MessagingActivities:
    return MessagingActivities(database, Providers(email=outbox, sms=outbox, whatsapp=outbox))


def _request(lead_id: uuid.UUID, channel: Channel | str = "preferred", **kw) -> SendRequest:
    return SendRequest(
        workflow_id=f"journey:{lead_id}:test-{uuid.uuid4().hex[:6]}",
        step_id="welcome",
        lead_id=lead_id,
        enrollment_id=None,
        channel=channel,
        template="engagement/welcome",
        purpose=kw.get("purpose", Purpose.MARKETING),
    )


def test_a_retried_send_finds_its_touch_and_does_not_send_again(database, store, messaging, outbox):
    lead_id = make_lead(database, store, preferred=Channel.EMAIL)
    request = _request(lead_id)
    first = ActivityEnvironment().run(messaging.send_message, request)
    retry = ActivityEnvironment().run(messaging.send_message, request)

    assert (first.status, first.channel, first.duplicate) == (
        TouchStatus.SENT,
        Channel.EMAIL,
        False,
    )
    assert (retry.touch_id, retry.duplicate) == (first.touch_id, True)
    assert len(outbox.sent) == 1
    [touch] = touches(database, lead_id)
    assert touch.subject and "Asha" in touch.subject
    assert touch.provider_message_id == f"outbox-{touch.id}"


def test_an_attempt_that_died_after_claiming_is_finished_by_the_retry(
    database, store, messaging, outbox
):
    lead_id = make_lead(database, store, preferred=Channel.WHATSAPP)
    request = _request(lead_id)
    database.run(
        lambda session: TouchRepository(session).claim(
            Touch(
                lead_id=lead_id,
                step_id=request.step_id,
                channel=Channel.WHATSAPP,
                purpose=Purpose.MARKETING,
                template=request.template,
                idempotency_key=request.idempotency_key,
                status=TouchStatus.CLAIMED,
                body="Hi Asha",
            )
        )
    )
    result = ActivityEnvironment().run(messaging.send_message, request)

    assert result.status is TouchStatus.SENT
    assert [message.body for message in outbox.sent] == ["Hi Asha"]
    assert len(touches(database, lead_id)) == 1


def test_preferred_channel_without_consent_falls_back_to_a_consented_one(
    database, store, messaging, outbox
):
    lead_id = make_lead(database, store, preferred=Channel.SMS, consent=[Channel.EMAIL])
    result = ActivityEnvironment().run(messaging.send_message, _request(lead_id))
    assert (result.status, result.channel) == (TouchStatus.SENT, Channel.EMAIL)
    assert outbox.sent[0].to.endswith("@example.com")


def test_explicit_channel_without_consent_is_suppressed_with_the_reason(
    database, store, messaging, outbox
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    result = ActivityEnvironment().run(messaging.send_message, _request(lead_id, Channel.SMS))
    assert (result.status, result.reason) == (TouchStatus.SUPPRESSED, "no_consent")
    assert outbox.sent == []
    [touch] = touches(database, lead_id)
    assert (touch.status, touch.reason, touch.channel) == (
        TouchStatus.SUPPRESSED,
        "no_consent",
        Channel.SMS,
    )
    assert touch.body and "Asha" in touch.body  # staff can see what was held back


def test_a_lead_with_no_phone_gets_no_sms(database, store, messaging, outbox):
    lead_id = make_lead(database, store, phone=None, consent=[Channel.SMS])
    result = ActivityEnvironment().run(messaging.send_message, _request(lead_id, Channel.SMS))
    assert (result.status, result.reason) == (TouchStatus.SUPPRESSED, "no_contact")
    assert outbox.sent == []
