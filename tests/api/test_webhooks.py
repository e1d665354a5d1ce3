"""Provider webhooks through the real app, signed with the vendors' own helpers."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from api.app import create_app
from core.settings import Settings
from core.vocabulary import JourneyStatus, TouchStatus
from db.models import Event, Lead, Task, Touch
from db.repositories import ConsentRepository, EventRepository, TouchRepository
from domain.consent import unsubscribe_token
from sequences.model import Offset, SendAction, Sequence, Step
from sequences.vocabulary import Channel, Purpose
from tests.factories import enroll, make_lead
from workflows.journey import JourneyResult, NurtureJourney

PUBLIC = "https://facet.example"
TOKEN = "twilio-auth-token"
SECRET = "test-secret-that-is-not-a-placeholder"
SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = base64.b64encode(
    SIGNING_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


@pytest.fixture
async def http(dev_server, database) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        environment="test",
        database_url=database.url,
        secret_key=SECRET,
        public_base_url=PUBLIC,
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token=TOKEN,
        sendgrid_webhook_public_key=PUBLIC_KEY,
    )
    app = create_app(settings, database=database, temporal=dev_server.client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as client:
        yield client


def _phone(database, lead_id) -> str:
    return database.run(lambda s: s.get_one(Lead, lead_id).phone_e164)


async def twilio_post(http, path: str, params: dict[str, str], *, url: str | None = None):
    signature = RequestValidator(TOKEN).compute_signature(url or PUBLIC + path, params)
    return await http.post(
        path,
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


def inbound(phone: str, body: str, *, whatsapp: bool = False) -> dict[str, str]:
    sender = f"whatsapp:{phone}" if whatsapp else phone
    return {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "From": sender,
        "To": "+15005550006",
        "Body": body,
    }


def _events(database, lead_id) -> list[Event]:
    return list(database.run(lambda s: EventRepository(s).for_lead(lead_id)))


def _sms_consented(database, lead_id) -> bool:
    return database.run(
        lambda s: ConsentRepository(s).is_granted(lead_id, Channel.SMS, Purpose.MARKETING)
    )


def sent_touch(database, lead_id, channel: Channel, provider: str, message_id: str) -> Touch:
    """A touch the provider accepted, as the send activity leaves it."""
    touch, _new = database.run(
        lambda s: TouchRepository(s).claim(
            Touch(
                lead_id=lead_id,
                store_id=s.get_one(Lead, lead_id).store_id,
                step_id="welcome",
                channel=channel,
                purpose=Purpose.MARKETING,
                template="engagement/welcome",
                idempotency_key=f"test:{uuid.uuid4()}",
                status=TouchStatus.SENT,
                provider=provider,
                provider_message_id=message_id,
            )
        )
    )
    return touch


LATER = Sequence(
    key="engagement_welcome",
    name="One message in a day",
    steps=(Step(id="later", at=Offset(days=1), send=SendAction(template="engagement/welcome")),),
)


async def test_stop_revokes_sms_and_journeys_end_only_once_no_channel_reaches_the_lead(
    http, database, store, dev_server, worker_for
):
    lead_id = make_lead(database, store, consent=[Channel.SMS, Channel.WHATSAPP], email=None)
    workflow_id, start = enroll(database, lead_id, sequence=LATER)
    phone = _phone(database, lead_id)
    async with worker_for(dev_server.client) as task_queue:
        handle = await dev_server.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        params = inbound(phone, " stop ")
        first = await twilio_post(http, "/v1/webhooks/twilio/inbound", params)
        again = await twilio_post(http, "/v1/webhooks/twilio/inbound", params)
        after_sms = await handle.query(NurtureJourney.status)
        on_whatsapp = inbound(phone, "STOP", whatsapp=True)
        last = await twilio_post(http, "/v1/webhooks/twilio/inbound", on_whatsapp)
        result = await handle.result()

    assert (first.status_code, again.status_code, last.status_code) == (200, 200, 200)
    assert after_sms.status is JourneyStatus.ACTIVE  # WhatsApp still reaches the lead
    assert isinstance(result, JourneyResult) and result.status is JourneyStatus.EXITED
    assert not _sms_consented(database, lead_id)
    assert [e.kind for e in _events(database, lead_id)] == ["opted_out", "opted_out"]


async def test_start_opts_back_in_and_help_answers_with_help_text(http, database, store):
    lead_id = make_lead(database, store, consent=[Channel.SMS])
    phone = _phone(database, lead_id)
    await twilio_post(http, "/v1/webhooks/twilio/inbound", inbound(phone, "STOP"))
    assert not _sms_consented(database, lead_id)
    await twilio_post(http, "/v1/webhooks/twilio/inbound", inbound(phone, "Start"))
    assert _sms_consented(database, lead_id)
    help_reply = await twilio_post(http, "/v1/webhooks/twilio/inbound", inbound(phone, "HELP"))
    assert help_reply.status_code == 200
    assert "<Message>Reply STOP" in help_reply.text


async def test_stop_in_plain_words_is_a_reply_that_stops_marketing_and_opens_a_review(
    http, database, store
):
    lead_id = make_lead(database, store, consent=[Channel.SMS])
    phone = _phone(database, lead_id)
    response = await twilio_post(
        http, "/v1/webhooks/twilio/inbound", inbound(phone, "please stop texting me")
    )
    assert response.status_code == 200
    assert [e.kind for e in _events(database, lead_id)] == ["reply"]
    assert not _sms_consented(database, lead_id)
    tasks = database.run(lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id)).all())
    assert [(t.kind, t.role_needed.value) for t in tasks] == [("review_stop_request", "associate")]


async def test_a_whatsapp_reply_opens_the_whatsapp_window(http, database, store):
    lead_id = make_lead(database, store)
    params = inbound(_phone(database, lead_id), "Is the 1 carat still there?", whatsapp=True)
    assert (await twilio_post(http, "/v1/webhooks/twilio/inbound", params)).status_code == 200
    last = database.run(lambda s: EventRepository(s).last_inbound(lead_id, "whatsapp"))
    assert last is not None


async def test_forged_missing_or_host_signed_twilio_requests_are_refused_and_change_nothing(
    http, database, store
):
    lead_id = make_lead(database, store, consent=[Channel.SMS])
    params = inbound(_phone(database, lead_id), "STOP")
    path = "/v1/webhooks/twilio/inbound"
    missing = await http.post(path, data=params)
    forged = await http.post(path, data=params, headers={"X-Twilio-Signature": "bm9wZQ=="})
    by_host = await twilio_post(http, path, params, url="http://internal:8000" + path)
    tampered_params = {**params, "Body": "START"}
    tampered = await http.post(
        path,
        content=urlencode(tampered_params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(PUBLIC + path, params),
        },
    )
    assert [r.status_code for r in (missing, forged, by_host, tampered)] == [403] * 4
    assert _sms_consented(database, lead_id) and _events(database, lead_id) == []

    malformed = await twilio_post(http, path, {"Body": "STOP"})
    assert malformed.status_code == 400


async def test_twilio_status_callbacks_update_the_touch(http, database, store):
    lead_id = make_lead(database, store)
    sid = f"SM{uuid.uuid4().hex}"
    sent_touch(database, lead_id, Channel.SMS, "twilio", sid)
    path = "/v1/webhooks/twilio/status"
    forged = await http.post(path, data={"MessageSid": sid, "MessageStatus": "failed"})
    delivered = await twilio_post(http, path, {"MessageSid": sid, "MessageStatus": "delivered"})
    late_sent = await twilio_post(http, path, {"MessageSid": sid, "MessageStatus": "sent"})
    assert (forged.status_code, delivered.status_code, late_sent.status_code) == (403, 200, 200)
    touch = database.run(lambda s: TouchRepository(s).by_provider_message_id(sid))
    assert touch is not None and touch.status is TouchStatus.DELIVERED


def sendgrid_signed(body: bytes, *, at: int | None = None) -> dict[str, str]:
    timestamp = str(at if at is not None else int(time.time()))
    signature = SIGNING_KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    encoded = base64.b64encode(signature).decode()
    # The vendor's own verifier agrees with the signature Facet is about to check.
    assert EventWebhook(PUBLIC_KEY).verify_signature(body.decode(), encoded, timestamp)
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": encoded,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


async def test_sendgrid_events_update_touches_and_opt_outs_and_count_replays_once(
    http, database, store
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    message_id = f"sg{uuid.uuid4().hex[:20]}"
    touch = sent_touch(database, lead_id, Channel.EMAIL, "sendgrid", message_id)
    events = [
        {"event": "delivered", "sg_event_id": uuid.uuid4().hex, "touch_id": str(touch.id)},
        {"event": "open", "sg_event_id": uuid.uuid4().hex, "sg_message_id": f"{message_id}.x1"},
        {"event": "unsubscribe", "sg_event_id": uuid.uuid4().hex, "touch_id": str(touch.id)},
    ]
    body = json.dumps(events).encode()
    path = "/v1/webhooks/sendgrid/events"
    first = await http.post(path, content=body, headers=sendgrid_signed(body))
    replay = await http.post(path, content=body, headers=sendgrid_signed(body))

    assert first.json() == {"processed": 3, "duplicates": 0}
    assert replay.json() == {"processed": 0, "duplicates": 3}
    row = database.run(lambda s: TouchRepository(s).get(touch.id))
    assert row is not None and row.status is TouchStatus.OPENED
    assert not database.run(
        lambda s: ConsentRepository(s).is_granted(lead_id, Channel.EMAIL, Purpose.MARKETING)
    )
    # The open is the lead's engagement; the unsubscribe its opt-out.
    assert sorted(e.kind for e in _events(database, lead_id)) == ["email_opened", "opted_out"]


async def test_forged_stale_or_malformed_sendgrid_posts_are_refused(http, database, store):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    body = json.dumps([{"event": "spamreport", "sg_event_id": "x", "lead": str(lead_id)}]).encode()
    path = "/v1/webhooks/sendgrid/events"
    headers = sendgrid_signed(body)
    tampered = await http.post(path, content=body.replace(b"x", b"y"), headers=headers)
    missing = await http.post(path, content=body, headers={"Content-Type": "application/json"})
    stale = await http.post(
        path, content=body, headers=sendgrid_signed(body, at=int(time.time()) - 3600)
    )
    assert [r.status_code for r in (tampered, missing, stale)] == [403, 403, 403]
    not_json = b"[{not json"
    assert (
        await http.post(path, content=not_json, headers=sendgrid_signed(not_json))
    ).status_code == 400
    no_id = b'[{"event": "open"}]'
    assert (await http.post(path, content=no_id, headers=sendgrid_signed(no_id))).status_code == 400
    receipts = database.run(
        lambda s: s.scalar(select(func.count()).select_from(Event).where(Event.lead_id == lead_id))
    )
    assert receipts == 0


async def test_one_click_unsubscribe_needs_no_login_and_is_idempotent(http, database, store):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    path = f"/v1/unsubscribe/{unsubscribe_token(SECRET, lead_id)}"
    page = await http.get(path)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert database.run(
        lambda s: ConsentRepository(s).is_granted(lead_id, Channel.EMAIL, Purpose.MARKETING)
    )
    one_click = {"Content-Type": "application/x-www-form-urlencoded"}
    first = await http.post(path, content="List-Unsubscribe=One-Click", headers=one_click)
    second = await http.post(path, content="List-Unsubscribe=One-Click", headers=one_click)
    assert (first.status_code, second.status_code) == (200, 200)
    assert not database.run(
        lambda s: ConsentRepository(s).is_granted(lead_id, Channel.EMAIL, Purpose.MARKETING)
    )
    assert [e.kind for e in _events(database, lead_id)] == ["opted_out"]
    forged = await http.post(f"/v1/unsubscribe/{lead_id.hex}.email.forged", content="")
    assert forged.status_code == 403
