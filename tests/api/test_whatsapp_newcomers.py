"""A WhatsApp message from a number no lead has: a new lead, welcomed inside the 24-hour
window the message opened (the real webhook route, signed with Twilio's own validator, and
the real worker sending through the outbox)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import select

from api.app import create_app
from core.vocabulary import TouchStatus
from db.models import Consent, Event, Lead, Touch
from sequences.vocabulary import Channel
from tests.api.test_webhooks import PUBLIC, TOKEN, inbound, twilio_post
from tests.conftest import test_settings as settings_for
from tests.factories import indian_mobile, welcome_of


@asynccontextmanager
async def webhooks(
    database, client, task_queue: str, **settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings_for(
            database.url,
            task_queue,
            public_base_url=PUBLIC,
            twilio_account_sid="AC" + "1" * 32,
            twilio_auth_token=TOKEN,
            **settings,
        ),
        database=database,
        temporal=client,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as http:
        yield http


def _leads(database, phone: str) -> list[Lead]:
    return list(
        database.read(lambda s: s.scalars(select(Lead).where(Lead.phone_e164 == phone)).all())
    )


async def _welcome(database, lead_id: uuid.UUID, seconds: float = 30) -> Touch:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        touch = welcome_of(database, lead_id)
        if touch is not None and touch.status is not TouchStatus.CLAIMED:
            return touch
        await asyncio.sleep(0.1)
    raise AssertionError(f"no welcome for lead {lead_id} within {seconds} s")


async def test_a_whatsapp_message_from_an_unknown_number_is_a_lead_welcomed_on_whatsapp(
    database, store, dev_server, worker_for
):
    phone = indian_mobile()
    message = inbound(phone, "Hello! Do you make polki chokers?", whatsapp=True)
    message["ProfileName"] = "Lakshmi"
    async with (
        worker_for(dev_server.client) as task_queue,
        webhooks(database, dev_server.client, task_queue, whatsapp_store_id=store.id) as http,
    ):
        first = await twilio_post(http, "/v1/webhooks/twilio/inbound", message)
        again = await twilio_post(http, "/v1/webhooks/twilio/inbound", message)  # Twilio retries
        assert (first.status_code, again.status_code) == (200, 200)
        [lead] = _leads(database, phone)
        welcome = await _welcome(database, lead.id)

    assert (lead.store_id, lead.source, lead.preferred_channel, lead.first_name) == (
        store.id,
        "whatsapp",
        Channel.WHATSAPP,
        "Lakshmi",
    )
    # Their message is on the timeline once, though the callback came twice.
    rows = database.read(lambda s: s.scalars(select(Event).where(Event.lead_id == lead.id)).all())
    events = [e for e in rows if e.kind != "note"]
    assert [(e.kind, e.source, e.payload) for e in events] == [
        ("captured", "whatsapp", {"message": "Hello! Do you make polki chokers?"})
    ]
    assert events[0].idempotency_key == f"twilio:{message['MessageSid']}"
    # No segment in the message: the neutral welcome, and the timeline says why, once.
    [note] = [e for e in rows if e.kind == "note"]
    assert note.payload["note"].startswith("No segment could be told from the enquiry")
    # Free-form on WhatsApp: the window their message opened, no template, no fallback.
    assert welcome.channel is Channel.WHATSAPP and welcome.status is TouchStatus.OUTBOX
    assert welcome.reason is None and welcome.fell_back_from is None
    assert welcome.provider == "outbox" and "Lakshmi" in (welcome.body or "")
    # Writing to a store is not consent to its marketing.
    consents = database.read(
        lambda s: s.scalars(select(Consent).where(Consent.lead_id == lead.id)).all()
    )
    assert consents == []


async def test_keywords_sms_and_no_branch_to_give_them_to_create_nobody(
    database, store, make_store, dev_server
):
    phone = indian_mobile()
    async with webhooks(
        database, dev_server.client, "facet-newcomers", whatsapp_store_id=store.id
    ) as http:
        for body in ("STOP", "HELP", "start"):  # a keyword alone is not an enquiry
            answer = await twilio_post(
                http, "/v1/webhooks/twilio/inbound", inbound(phone, body, whatsapp=True)
            )
            assert answer.status_code == 200
        sms = inbound(phone, "Hi, is the store open today?")  # SMS: as before, unknown
        assert (await twilio_post(http, "/v1/webhooks/twilio/inbound", sms)).status_code == 200
    make_store()  # now there is more than one branch, and none is named
    async with webhooks(database, dev_server.client, "facet-newcomers") as http:
        hello = inbound(phone, "Hi, is the store open today?", whatsapp=True)
        assert (await twilio_post(http, "/v1/webhooks/twilio/inbound", hello)).status_code == 200
    assert _leads(database, phone) == []
