"""The send activity against a real database and the real SendGrid/Twilio SDKs talking to a
local stand-in: exactly one provider request per (workflow id, step id), the gate's rules at
send time, and what each provider error does."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.messaging import MessagingActivities
from activities.payloads import SendRequest, SendResult
from core.settings import Settings
from core.vocabulary import TouchStatus
from db.models import Event, Lead, Touch
from db.repositories import ConsentRepository, TouchRepository
from db.session import READ_ONLY
from domain.reply_address import lead_replied_to
from providers.base import (
    OutgoingMessage,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderReceipt,
    Registry,
)
from providers.outbox.adapter import OutboxProvider
from providers.registry import configured
from sequences.vocabulary import Channel, Purpose
from tests.factories import enroll, make_lead, set_caps, touches
from tests.standin import Reply, settings_for, twilio_error

KOLKATA = "Asia/Kolkata"
# A Monday early afternoon in Bengaluru: inside India's promotional window.
AFTERNOON = datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo(KOLKATA))


@pytest.fixture
def messaging(database, standin) -> MessagingActivities:
    settings = settings_for(standin)
    return MessagingActivities(database, configured(settings), settings)


def run_at(messaging: MessagingActivities, request: SendRequest, at: datetime) -> SendResult:
    """Run the send activity as an attempt the Temporal server scheduled at `at`."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, current_attempt_scheduled_time=at, started_time=at)
    return env.run(messaging.send_message, request)


def request_for(lead_id: uuid.UUID, channel: Channel | str = "preferred", **kw) -> SendRequest:
    return SendRequest(
        workflow_id=f"journey:{lead_id}:test-{uuid.uuid4().hex[:6]}",
        step_id=kw.get("step_id", "welcome"),
        lead_id=lead_id,
        enrollment_id=None,
        channel=channel,
        template=kw.get("template", "engagement/welcome"),
        purpose=kw.get("purpose", Purpose.MARKETING),
    )


def lead_in_kolkata(database, store, **kw) -> uuid.UUID:
    kw.setdefault("consent", list(Channel))
    return make_lead(database, store, timezone=KOLKATA, **kw)


def record_whatsapp_message(database, lead_id: uuid.UUID, at: datetime) -> None:
    def add(session) -> None:
        lead = session.get_one(Lead, lead_id)
        session.add(
            Event(
                store_id=lead.store_id,
                lead_id=lead_id,
                kind="inbound_message",
                source="whatsapp",
                payload={},
                occurred_at=at,
                idempotency_key=f"test:{uuid.uuid4()}",
            )
        )

    database.run(add)


# --- exactly once ----------------------------------------------------------------------


def test_a_retried_send_finds_its_touch_and_does_not_send_again(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store, preferred=Channel.EMAIL)
    request = request_for(lead_id)
    first = run_at(messaging, request, AFTERNOON)
    retry = run_at(messaging, request, AFTERNOON + timedelta(seconds=5))

    assert (first.status, first.channel, first.duplicate) == (
        TouchStatus.SENT,
        Channel.EMAIL,
        False,
    )
    assert (retry.touch_id, retry.duplicate) == (first.touch_id, True)
    assert len(standin.accepted("/v3/mail/send")) == 1
    [touch] = touches(database, lead_id)
    assert touch.subject and "Asha" in touch.subject
    assert touch.provider == "sendgrid" and touch.provider_message_id


def test_a_message_carries_its_leads_branch_and_its_journeys_sequence(database, store, messaging):
    """The dashboards count a branch's messages, split by sequence, from the message row
    alone: both are written with it, whether the message was sent or held back."""
    lead_id = lead_in_kolkata(database, store, preferred=Channel.EMAIL)
    _workflow_id, journey = enroll(database, lead_id)
    in_journey = request_for(lead_id).model_copy(update={"enrollment_id": journey.enrollment_id})
    run_at(messaging, in_journey, AFTERNOON)
    run_at(messaging, request_for(lead_id, step_id="outside"), AFTERNOON + timedelta(minutes=1))

    written = {
        t.step_id: (t.store_id, t.sequence_key, t.status) for t in touches(database, lead_id)
    }
    assert written["welcome"] == (store.id, journey.sequence.key, TouchStatus.SENT)
    assert written["outside"][:2] == (store.id, None)


def test_an_attempt_that_died_after_claiming_is_finished_by_the_retry(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store)
    request = request_for(lead_id, Channel.SMS)
    database.run(
        lambda session: TouchRepository(session).claim(
            Touch(
                lead_id=lead_id,
                store_id=store.id,
                step_id=request.step_id,
                channel=Channel.SMS,
                purpose=Purpose.MARKETING,
                template=request.template,
                idempotency_key=request.idempotency_key,
                status=TouchStatus.CLAIMED,
                body="Hi Asha",
            )
        )
    )
    result = run_at(messaging, request, AFTERNOON)

    assert result.status is TouchStatus.SENT
    assert [r.form["Body"] for r in standin.accepted("Messages.json")] == ["Hi Asha"]
    assert len(touches(database, lead_id)) == 1


def test_an_attempt_that_died_while_calling_the_provider_is_never_sent_again(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store)
    request = request_for(lead_id, Channel.SMS)
    database.run(
        lambda session: TouchRepository(session).claim(
            Touch(
                lead_id=lead_id,
                store_id=store.id,
                step_id=request.step_id,
                channel=Channel.SMS,
                purpose=Purpose.MARKETING,
                template=request.template,
                idempotency_key=request.idempotency_key,
                status=TouchStatus.SENDING,
                body="Hi Asha",
            )
        )
    )
    result = run_at(messaging, request, AFTERNOON)
    assert (result.status, result.reason) == (TouchStatus.FAILED, "outcome_unknown")
    assert standin.requests == []


def test_the_outbox_finishes_a_send_that_died_mid_call_because_nothing_left_facet(database, store):
    settings = Settings(environment="development", database_url=database.url)
    outbox = MessagingActivities(database, configured(settings), settings)
    lead_id = lead_in_kolkata(database, store)
    request = request_for(lead_id, Channel.SMS)
    database.run(
        lambda session: TouchRepository(session).claim(
            Touch(
                lead_id=lead_id,
                store_id=store.id,
                step_id=request.step_id,
                channel=Channel.SMS,
                purpose=Purpose.MARKETING,
                template=request.template,
                idempotency_key=request.idempotency_key,
                status=TouchStatus.SENDING,
                body="Hi Asha",
            )
        )
    )
    result = run_at(outbox, request, AFTERNOON)
    assert (result.status, result.reason) == (TouchStatus.OUTBOX, None)
    [touch] = touches(database, lead_id)
    assert (touch.provider, touch.body) == ("outbox", "Hi Asha")


def test_an_outbox_send_takes_the_write_lock_once(database, store):
    """Nothing of a dry-run send leaves Facet, so the claim and the record of it being sent are
    one write: the embedded stack's captures do not queue behind two more."""
    settings = Settings(environment="development", database_url=database.url)
    outbox = MessagingActivities(database, configured(settings), settings)
    lead_id = lead_in_kolkata(database, store, preferred=Channel.EMAIL)
    writes = []

    def count(connection) -> None:
        if not connection.get_execution_options().get(READ_ONLY, False):
            writes.append(connection)

    event.listen(database.engine, "begin", count)
    try:
        result = run_at(outbox, request_for(lead_id), AFTERNOON)
    finally:
        event.remove(database.engine, "begin", count)

    assert (result.status, result.channel) == (TouchStatus.OUTBOX, Channel.EMAIL)
    assert len(writes) == 1
    [touch] = touches(database, lead_id)
    assert (touch.provider, touch.provider_message_id) == ("outbox", f"outbox-{touch.id}")


class _RefusingSms(OutboxProvider):
    """A provider that, like the outbox, sends nothing out of Facet, but refuses every SMS."""

    name = "refusing"

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        if message.channel is not Channel.SMS:
            return super().send(message)
        raise ProviderError(self.name, permanent=True, reason="opted_out", status=400, code=21610)


def test_a_refusal_by_a_repeatable_provider_is_recorded_and_the_step_falls_back(database, store):
    settings = Settings(environment="development", database_url=database.url)
    outbox = OutboxProvider()
    providers = Registry(
        {Channel.EMAIL: outbox, Channel.SMS: _RefusingSms(), Channel.WHATSAPP: outbox}
    )
    messaging = MessagingActivities(database, providers, settings)
    lead_id = lead_in_kolkata(
        database, store, preferred=Channel.SMS, consent=[Channel.SMS, Channel.EMAIL]
    )
    result = run_at(messaging, request_for(lead_id), AFTERNOON)

    assert (result.status, result.channel) == (TouchStatus.OUTBOX, Channel.EMAIL)
    assert not database.run(
        lambda s: ConsentRepository(s).is_granted(lead_id, Channel.SMS, Purpose.MARKETING)
    )
    [touch] = touches(database, lead_id)
    assert touch.provider == "outbox"


def test_a_provider_outage_returns_the_claim_and_the_retry_sends_once(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store)
    request = request_for(lead_id, Channel.SMS)
    standin.fail_next(Reply(503, {"code": 20500, "message": "down", "status": 503}))
    with pytest.raises(ApplicationError) as raised:
        run_at(messaging, request, AFTERNOON)
    assert raised.value.type == "ProviderUnavailable" and not raised.value.non_retryable
    [touch] = touches(database, lead_id)
    assert touch.status is TouchStatus.CLAIMED

    assert run_at(messaging, request, AFTERNOON + timedelta(seconds=2)).status is TouchStatus.SENT
    assert len(standin.requests) == 2 and len(standin.accepted()) == 1


def test_sendgrid_rate_limit_retries_after_the_time_it_asked_for(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store)
    standin.fail_next(Reply(429, {"errors": []}, {"Retry-After": "30"}))
    with pytest.raises(ApplicationError) as raised:
        run_at(messaging, request_for(lead_id, Channel.EMAIL), AFTERNOON)
    assert raised.value.next_retry_delay == timedelta(seconds=30)


# --- the requests the real SDKs send ----------------------------------------------------


def test_email_goes_through_sendgrid_with_opaque_ids_and_one_click_unsubscribe(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store)
    request = request_for(lead_id, Channel.EMAIL)
    result = run_at(messaging, request, AFTERNOON)

    [sent] = standin.accepted("/v3/mail/send")
    assert sent.headers["Authorization"] == "Bearer SG.test-key"
    mail = sent.json
    [personalization] = mail["personalizations"]
    assert personalization["to"][0]["email"].startswith("asha.")
    assert mail["from"] == {"email": "hello@store.example"}
    assert "Asha" in mail["subject"]
    [content] = mail["content"]
    assert content["type"] == "text/html"
    assert "Dear Asha" in content["value"] and "12 MG Road, Bengaluru" in content["value"]
    assert mail["custom_args"] == {"touch_id": str(result.touch_id), "lead_id": str(lead_id)}
    unsubscribe = mail["headers"]["List-Unsubscribe"]
    assert (
        unsubscribe.startswith("<https://facet.example/v1/unsubscribe/") and "@" not in unsubscribe
    )
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [touch] = touches(database, lead_id)
    assert touch.provider == "sendgrid" and (touch.provider_message_id or "").startswith("sg")


def test_marketing_and_service_email_go_in_separate_unsubscribe_groups(database, store, standin):
    settings = settings_for(standin).model_copy(
        update={"sendgrid_marketing_group_id": 101, "sendgrid_service_group_id": 202}
    )
    messaging = MessagingActivities(database, configured(settings), settings)
    lead_id = lead_in_kolkata(database, store)
    for purpose in (Purpose.MARKETING, Purpose.TRANSACTIONAL):
        run_at(messaging, request_for(lead_id, Channel.EMAIL, purpose=purpose), AFTERNOON)

    marketing, service = standin.accepted("/v3/mail/send")
    assert (marketing.json["asm"]["group_id"], service.json["asm"]["group_id"]) == (101, 202)


def test_an_email_replies_to_the_leads_own_address_on_the_inbound_domain(database, store, standin):
    settings = settings_for(standin).model_copy(
        update={"sendgrid_reply_domain": "reply.store.example"}
    )
    messaging = MessagingActivities(database, configured(settings), settings)
    lead_id = lead_in_kolkata(database, store)
    run_at(messaging, request_for(lead_id, Channel.EMAIL), AFTERNOON)

    [sent] = standin.accepted("/v3/mail/send")
    address = sent.json["reply_to"]["email"]
    assert address.startswith("reply+") and address.endswith("@reply.store.example")
    secret = settings.secret_key.get_secret_value()
    assert lead_replied_to(secret, [address.upper()]) == lead_id  # case-proof
    assert lead_replied_to("another-secret", [address]) is None


def test_sms_goes_through_twilio_with_a_status_callback(database, store, messaging, standin):
    lead_id = lead_in_kolkata(database, store)
    run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON)

    [sent] = standin.accepted("Messages.json")
    assert sent.path == f"/2010-04-01/Accounts/AC{'1' * 32}/Messages.json"
    assert sent.basic_auth() == (f"AC{'1' * 32}", "twilio-token")
    phone = database.run(lambda s: s.get_one(Lead, lead_id).phone_e164)
    assert sent.form["To"] == phone and sent.form["From"] == "+15005550006"
    assert "Hi Asha" in sent.form["Body"]
    assert sent.form["StatusCallback"] == "https://facet.example/v1/webhooks/twilio/status"
    [touch] = touches(database, lead_id)
    assert touch.provider == "twilio" and (touch.provider_message_id or "").startswith("SM")


def test_an_email_with_a_store_dynamic_template_goes_as_that_template(database, store, standin):
    settings = settings_for(standin).model_copy(
        update={"sendgrid_template_ids": {"engagement/welcome": "d-0123456789abcdef"}}
    )
    messaging = MessagingActivities(database, configured(settings), settings)
    lead_id = lead_in_kolkata(database, store)
    run_at(messaging, request_for(lead_id, Channel.EMAIL), AFTERNOON)

    [sent] = standin.accepted("/v3/mail/send")
    assert sent.json["template_id"] == "d-0123456789abcdef"
    data = sent.json["personalizations"][0]["dynamic_template_data"]
    assert (data["first_name"], data["store_name"]) == ("Asha", store.name)
    assert data["unsubscribe_url"].startswith("https://facet.example/v1/unsubscribe/")
    assert "content" not in sent.json  # SendGrid renders its own template


def test_whatsapp_outside_the_window_goes_as_the_stores_approved_template(database, store, standin):
    sid = "HX" + "a" * 32
    settings = settings_for(standin).model_copy(
        update={"whatsapp_content_sids": {"engagement/welcome": sid}}
    )
    messaging = MessagingActivities(database, configured(settings), settings)
    lead_id = lead_in_kolkata(database, store)  # has never written on WhatsApp: window closed
    result = run_at(messaging, request_for(lead_id, Channel.WHATSAPP), AFTERNOON)

    assert (result.status, result.channel) == (TouchStatus.SENT, Channel.WHATSAPP)
    [sent] = standin.accepted("Messages.json")
    assert sent.form["ContentSid"] == sid
    assert json.loads(sent.form["ContentVariables"]) == {"1": "Asha", "2": store.name}
    assert "Body" not in sent.form  # free-form text would be refused (63016)
    assert sent.form["To"].startswith("whatsapp:+91")


# --- the gate -----------------------------------------------------------------------------


def test_quiet_hours_hold_the_step_and_the_same_request_sends_it_when_the_window_opens(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store)
    request = request_for(lead_id, Channel.SMS)
    night = datetime(2026, 11, 23, 22, 30, tzinfo=ZoneInfo(KOLKATA))
    held = run_at(messaging, request, night)

    opens = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo(KOLKATA))
    assert (held.status, held.reason, held.deferred_until) == (
        TouchStatus.HELD,
        "quiet_hours",
        opens,
    )
    assert standin.requests == []
    sent = run_at(messaging, request, opens)
    assert (sent.status, sent.touch_id, sent.deferred_until) == (
        TouchStatus.SENT,
        held.touch_id,
        None,
    )
    [touch] = touches(database, lead_id)
    assert touch.sent_at == opens and len(standin.accepted()) == 1
    assert touch.held_until == opens  # the timeline still shows it waited for the window


def test_the_frequency_cap_counts_every_journey_and_spares_transactional_messages(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store)
    first = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON)
    second = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON + timedelta(hours=1))
    receipt = run_at(
        messaging,
        request_for(lead_id, Channel.SMS, purpose=Purpose.TRANSACTIONAL),
        AFTERNOON + timedelta(hours=2),
    )
    tomorrow = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON + timedelta(days=1))

    assert [r.status for r in (first, second, receipt, tomorrow)] == [
        TouchStatus.SENT,
        TouchStatus.SUPPRESSED,
        TouchStatus.SENT,
        TouchStatus.SENT,
    ]
    assert second.reason == "frequency_cap"
    # Three marketing messages in a week at most: day 2 and 3 after two sends are capped once.
    run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON + timedelta(days=2))
    capped = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON + timedelta(days=3))
    assert (capped.status, capped.reason) == (TouchStatus.SUPPRESSED, "frequency_cap")


def test_a_store_may_set_its_own_caps(database, store, messaging):
    set_caps(database, store, per_day=2, per_week=5)
    lead_id = lead_in_kolkata(database, store)
    results = [
        run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON + timedelta(minutes=i))
        for i in range(3)
    ]
    assert [r.status for r in results] == [
        TouchStatus.SENT,
        TouchStatus.SENT,
        TouchStatus.SUPPRESSED,
    ]


def test_whatsapp_free_form_only_inside_the_window_after_the_leads_last_message(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store, preferred=Channel.WHATSAPP)
    closed = run_at(messaging, request_for(lead_id), AFTERNOON)
    assert closed.channel is Channel.EMAIL  # never wrote on WhatsApp: the next channel

    record_whatsapp_message(database, lead_id, AFTERNOON + timedelta(days=1))
    inside = run_at(messaging, request_for(lead_id), AFTERNOON + timedelta(days=1, hours=2))
    assert (inside.status, inside.channel) == (TouchStatus.SENT, Channel.WHATSAPP)
    [whatsapp] = standin.accepted("Messages.json")
    assert whatsapp.form["To"].startswith("whatsapp:+91")
    assert whatsapp.form["From"] == "whatsapp:+14155238886"

    explicit = run_at(
        messaging,
        request_for(lead_id, Channel.WHATSAPP),
        AFTERNOON + timedelta(days=3),
    )
    assert (explicit.status, explicit.reason) == (TouchStatus.SUPPRESSED, "window_closed")


def test_preferred_channel_without_consent_falls_back_to_a_consented_one(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store, preferred=Channel.SMS, consent=[Channel.EMAIL])
    result = run_at(messaging, request_for(lead_id), AFTERNOON)
    assert (result.status, result.channel) == (TouchStatus.SENT, Channel.EMAIL)


def test_explicit_channel_without_consent_is_suppressed_with_the_reason(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store, consent=[Channel.EMAIL])
    result = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON)
    assert (result.status, result.reason) == (TouchStatus.SUPPRESSED, "no_consent")
    assert standin.requests == []
    [touch] = touches(database, lead_id)
    assert (touch.status, touch.reason, touch.channel) == (
        TouchStatus.SUPPRESSED,
        "no_consent",
        Channel.SMS,
    )
    assert touch.body and "Asha" in touch.body  # staff can see what was held back


def test_a_lead_with_no_phone_gets_no_sms(database, store, messaging, standin):
    lead_id = lead_in_kolkata(database, store, phone=None, consent=[Channel.SMS])
    result = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON)
    assert (result.status, result.reason) == (TouchStatus.SUPPRESSED, "no_contact")
    assert standin.requests == []


# --- permanent provider errors ------------------------------------------------------------


def test_a_carrier_stop_revokes_sms_consent_and_the_step_falls_back_to_email(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(
        database, store, preferred=Channel.SMS, consent=[Channel.SMS, Channel.EMAIL]
    )
    standin.fail_next(twilio_error(21610))
    result = run_at(messaging, request_for(lead_id), AFTERNOON)

    assert (result.status, result.channel) == (TouchStatus.SENT, Channel.EMAIL)
    assert [r.path.split("/")[-1] for r in standin.requests] == ["Messages.json", "send"]
    assert not database.run(
        lambda s: ConsentRepository(s).is_granted(lead_id, Channel.SMS, Purpose.MARKETING)
    )
    later = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON + timedelta(days=1))
    assert (later.status, later.reason) == (TouchStatus.SUPPRESSED, "opted_out")
    assert len(standin.requests) == 2


def test_an_invalid_number_is_marked_and_suppressed_with_the_reason(
    database, store, messaging, standin
):
    lead_id = lead_in_kolkata(database, store, consent=[Channel.SMS])
    standin.fail_next(twilio_error(21211))
    result = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON)

    assert (result.status, result.reason) == (TouchStatus.SUPPRESSED, "invalid_contact")
    lead = database.run(lambda s: s.get_one(Lead, lead_id))
    assert lead.phone_invalid_reason == "invalid_contact"
    again = run_at(messaging, request_for(lead_id, Channel.SMS), AFTERNOON + timedelta(days=1))
    assert again.reason == "invalid_contact" and len(standin.requests) == 1


def test_a_sendgrid_400_is_not_retried(database, store, messaging, standin):
    lead_id = lead_in_kolkata(database, store, consent=[Channel.EMAIL])
    standin.fail_next(Reply(400, {"errors": [{"message": "bad"}]}))
    result = run_at(messaging, request_for(lead_id, Channel.EMAIL), AFTERNOON)
    assert (result.status, result.reason) == (TouchStatus.SUPPRESSED, "provider_rejected")
    assert len(standin.requests) == 1


@pytest.mark.parametrize(
    ("channel", "path"), [(Channel.SMS, "Messages.json"), (Channel.EMAIL, "/v3/mail/send")]
)
def test_a_provider_that_never_answers_is_not_sent_to_again(
    database, store, standin, channel, path
):
    """A read timeout means the message may have gone: the retry records it, never resends."""
    settings = settings_for(standin).model_copy(update={"provider_timeout_seconds": 0.5})
    messaging = MessagingActivities(database, configured(settings), settings)
    lead_id = lead_in_kolkata(database, store)
    request = request_for(lead_id, channel)
    standin.hold_next()
    with pytest.raises(ProviderOutcomeUnknown, match="may have been sent"):
        run_at(messaging, request, AFTERNOON)
    [touch] = touches(database, lead_id)
    assert touch.status is TouchStatus.SENDING
    standin.release.set()

    retry = run_at(messaging, request, AFTERNOON + timedelta(seconds=40))
    assert (retry.status, retry.reason) == (TouchStatus.FAILED, "outcome_unknown")
    assert len(standin.accepted(path)) == 1


# --- the outbox ------------------------------------------------------------------------------


def test_an_outbox_message_is_outbox_not_sent_counts_toward_the_cap_and_goes_once(database, store):
    settings = settings_for()
    outbox = MessagingActivities(database, configured(settings), settings)
    lead_id = lead_in_kolkata(database, store)
    request = request_for(lead_id, Channel.SMS)

    first = run_at(outbox, request, AFTERNOON)
    retried = run_at(outbox, request, AFTERNOON + timedelta(seconds=5))
    capped = run_at(outbox, request_for(lead_id, Channel.SMS), AFTERNOON + timedelta(hours=1))

    assert (first.status, retried.status) == (TouchStatus.OUTBOX, TouchStatus.OUTBOX)
    [kept, suppressed] = touches(database, lead_id)
    assert (kept.status, kept.provider, kept.sent_at) == (TouchStatus.OUTBOX, "outbox", AFTERNOON)
    assert (capped.status, capped.reason) == (TouchStatus.SUPPRESSED, "frequency_cap")
    assert suppressed.status is TouchStatus.SUPPRESSED
