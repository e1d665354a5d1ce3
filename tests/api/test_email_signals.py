"""Email engagement through the real app, worker and dev server: SendGrid's signed opens and
clicks become the lead's events and its score; replies through Inbound Parse act as SMS
replies do (a pause, a task for the owner, STOP words)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.vocabulary import TaskStatus, TouchStatus
from db.models import Event, Lead, Staff, Task, Touch
from db.repositories import ConsentRepository, TouchRepository
from domain.reply_address import reply_address
from sequences.model import Offset, SendAction, Sequence, Step
from sequences.vocabulary import Channel, Purpose, StaffRole
from tests.api.test_leads import _decoded_payloads
from tests.api.test_webhooks import PUBLIC, PUBLIC_KEY, SECRET, sendgrid_signed, sent_touch
from tests.conftest import api_client
from tests.factories import enroll, make_lead
from tests.standin import inbound_parse_post
from workflows.journey import NurtureJourney

INBOUND_SECRET = "inbound-8c1f0e5b2a7d4e6f"
INBOUND = f"/v1/webhooks/sendgrid/inbound/{INBOUND_SECRET}"
EVENTS = "/v1/webhooks/sendgrid/events"


@pytest.fixture
async def task_queue(dev_server, worker_for) -> AsyncIterator[str]:
    async with worker_for(dev_server.client) as queue:
        yield queue


@pytest.fixture
async def http(dev_server, database, task_queue) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(
        database,
        dev_server.client,
        task_queue,
        public_base_url=PUBLIC,
        sendgrid_webhook_public_key=PUBLIC_KEY,
        sendgrid_inbound_secret=INBOUND_SECRET,
    ) as client:
        yield client


def _events(database, lead_id, kind: str | None = None) -> list[Event]:
    def read(session) -> list[Event]:
        query = select(Event).where(Event.lead_id == lead_id).order_by(Event.recorded_at)
        if kind is not None:
            query = query.where(Event.kind == kind)
        return list(session.scalars(query).all())

    return database.read(read)


async def _scored(database, lead_id, reason: str, *, seconds: float = 20.0) -> Lead:
    """The lead once its score explains itself with `reason` (QualifyLead ran)."""
    for _ in range(int(seconds / 0.1)):
        lead = database.read(lambda s: s.get_one(Lead, lead_id))
        labels = [f["label"] for f in lead.score_explanation.get("positive", [])]
        if reason in labels:
            return lead
        await asyncio.sleep(0.1)
    raise AssertionError(f"the score never gave the reason {reason!r}: {lead.score_explanation}")


async def _post_events(http, events: list[dict[str, Any]]) -> httpx.Response:
    body = json.dumps(events).encode()
    return await http.post(EVENTS, content=body, headers=sendgrid_signed(body))


# --- opens and clicks ---------------------------------------------------------------------------


async def test_an_open_and_a_click_each_become_one_lead_event_and_the_click_raises_the_score(
    http, database, store
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    message_id = f"sg{uuid.uuid4().hex[:20]}"
    touch = sent_touch(database, lead_id, Channel.EMAIL, "sendgrid", message_id)
    now = int(datetime.now(UTC).timestamp())
    batch = [
        {"event": "open", "sg_event_id": uuid.uuid4().hex, "sg_message_id": f"{message_id}.a"},
        {"event": "click", "sg_event_id": uuid.uuid4().hex, "touch_id": str(touch.id)},
    ]
    # The person opens the same email again later: a new sg_event_id, the same engagement.
    reread = [
        {
            "event": "open",
            "sg_event_id": uuid.uuid4().hex,
            "touch_id": str(touch.id),
            "timestamp": now,
        }
    ]

    first = await _post_events(http, batch)
    again = await _post_events(http, batch)  # SendGrid delivers the batch twice
    later = await _post_events(http, reread)

    assert [r.status_code for r in (first, again, later)] == [200, 200, 200]
    assert again.json() == {"processed": 0, "duplicates": 2}
    kinds = sorted(e.kind for e in _events(database, lead_id))
    assert kinds == ["email_clicked", "email_opened"]
    row = database.read(lambda s: TouchRepository(s).get(touch.id))
    assert row is not None and row.status is TouchStatus.CLICKED
    lead = await _scored(database, lead_id, "1× clicked a link in an email")
    assert lead.score is not None and lead.score >= 5
    labels = [f["label"] for f in lead.score_explanation["positive"]]
    assert "1× opened an email" in labels


async def test_a_machine_open_is_not_engagement(http, database, store):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    message_id = f"sg{uuid.uuid4().hex[:20]}"
    touch = sent_touch(database, lead_id, Channel.EMAIL, "sendgrid", message_id)
    # Apple Mail's privacy protection fetched the images the moment the mail arrived.
    prefetch = {
        "event": "open",
        "sg_event_id": uuid.uuid4().hex,
        "sg_message_id": f"{message_id}.b",
        "sg_machine_open": True,
    }

    answer = await _post_events(http, [prefetch])

    assert answer.json() == {"processed": 1, "duplicates": 0}
    assert _events(database, lead_id) == []
    row = database.read(lambda s: TouchRepository(s).get(touch.id))
    assert row is not None and row.status is TouchStatus.SENT  # nobody read it
    lead = database.read(lambda s: s.get_one(Lead, lead_id))
    assert lead.score is None  # nothing to qualify


async def test_a_staff_member_clicking_their_task_notice_is_no_engagement_of_the_lead(
    http, database, store
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    message_id = f"sg{uuid.uuid4().hex[:20]}"

    def notice(session) -> uuid.UUID:
        priya = session.scalars(
            select(Staff).where(Staff.store_id == store.id, Staff.role == StaffRole.ASSOCIATE)
        ).one()
        touch, _new = TouchRepository(session).claim(
            Touch(
                lead_id=lead_id,
                store_id=store.id,
                staff_id=priya.id,
                step_id="notice",
                channel=Channel.EMAIL,
                purpose=Purpose.TRANSACTIONAL,
                template="task_notice",
                idempotency_key=f"test:{uuid.uuid4()}",
                status=TouchStatus.SENT,
                provider="sendgrid",
                provider_message_id=message_id,
            )
        )
        return touch.id

    touch_id = database.run(notice)
    batch = [
        {"event": name, "sg_event_id": uuid.uuid4().hex, "touch_id": str(touch_id)}
        for name in ("open", "click", "spamreport")
    ]

    answer = await _post_events(http, batch)

    assert answer.json() == {"processed": 3, "duplicates": 0}
    row = database.read(lambda s: TouchRepository(s).get(touch_id))
    assert row is not None and row.status is TouchStatus.CLICKED  # the notice was read
    assert _events(database, lead_id) == []  # … by staff: the lead did nothing
    assert database.read(
        lambda s: ConsentRepository(s).is_granted(lead_id, Channel.EMAIL, Purpose.MARKETING)
    )


# --- replies through Inbound Parse --------------------------------------------------------------

PAUSES_ON_REPLY = Sequence(
    key="engagement_welcome",
    name="Waits a day, then writes",
    reply_pauses=Offset(hours=72),
    steps=(Step(id="later", at=Offset(days=1), send=SendAction(template="engagement/welcome")),),
)


def _email_of(database, lead_id) -> str:
    return database.read(lambda s: s.get_one(Lead, lead_id).email)


def _second_associate_owns(database, store, lead_id) -> uuid.UUID:
    """A second associate becomes the lead's owner, so routing has a real choice to make."""

    def make(session) -> uuid.UUID:
        owner = Staff(store_id=store.id, name="Kavya", role=StaffRole.ASSOCIATE, languages=["en"])
        session.add(owner)
        session.flush()
        session.get_one(Lead, lead_id).owner_id = owner.id
        return owner.id

    return database.run(make)


async def _task(database, lead_id, kind: str, *, seconds: float = 20.0) -> Task:
    for _ in range(int(seconds / 0.1)):
        found = database.read(
            lambda s: s.scalars(
                select(Task).where(Task.lead_id == lead_id, Task.kind == kind)
            ).all()
        )
        if found:
            [task] = found
            return task
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} task for the lead within {seconds:g} s")


async def test_an_email_reply_pauses_the_journey_and_opens_a_task_for_the_owner(
    http, database, store, dev_server, task_queue
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    owner_id = _second_associate_owns(database, store, lead_id)
    workflow_id, start = enroll(database, lead_id, sequence=PAUSES_ON_REPLY)
    handle = await dev_server.client.start_workflow(
        NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
    )
    text = "Could I see the oval one on Saturday?\n\nOn Tue, Test Jewellers wrote:\n> Hello Asha"
    fields, files = inbound_parse_post(_email_of(database, lead_id).upper(), text)

    answer = await http.post(INBOUND, data=fields, files=files)

    assert answer.status_code == 200 and answer.json()["leads"] == 1
    task = await _task(database, lead_id, "answer_reply")
    assert task.assignee_id == owner_id and task.status is TaskStatus.OPEN
    view = await handle.query(NurtureJourney.status)
    assert view.paused_until is not None
    assert view.paused_until - datetime.now(UTC) > timedelta(hours=71)
    [reply] = _events(database, lead_id, "reply")
    assert (reply.source, reply.payload["text"]) == ("email", text)
    history = _decoded_payloads(json.loads((await handle.fetch_history()).to_json()))
    assert str(reply.id) in history  # the journey heard the event, by its id
    assert "oval one" not in history and "Asha" not in history, "the email reached the history"
    await handle.terminate("test over")


async def test_a_reply_saying_stop_opts_the_lead_out_of_marketing_email(http, database, store):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL, Channel.WHATSAPP])
    text = "STOP\n\n-- \nAsha\nSent from my iPhone\n\nOn Tue, Test Jewellers wrote:\n> Hi"
    fields, files = inbound_parse_post(_email_of(database, lead_id), text)

    answer = await http.post(INBOUND, data=fields, files=files)

    assert answer.status_code == 200

    def granted(channel: Channel, purpose: Purpose) -> bool:
        return database.read(lambda s: ConsentRepository(s).is_granted(lead_id, channel, purpose))

    assert not granted(Channel.EMAIL, Purpose.MARKETING)
    assert granted(Channel.WHATSAPP, Purpose.MARKETING)  # a stop on email stops email only
    [stop] = _events(database, lead_id, "opted_out")
    assert stop.payload["channel"] == "email"


async def test_an_inbound_email_without_the_secret_is_refused_and_records_nothing(
    http, database, store
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    fields, files = inbound_parse_post(_email_of(database, lead_id), "STOP")

    wrong = await http.post(
        "/v1/webhooks/sendgrid/inbound/guessed-secret", data=fields, files=files
    )
    bare = await http.post("/v1/webhooks/sendgrid/inbound", data=fields, files=files)

    assert wrong.status_code == 403
    assert bare.status_code in (401, 403, 404, 405)
    assert _events(database, lead_id) == []
    assert database.read(
        lambda s: ConsentRepository(s).is_granted(lead_id, Channel.EMAIL, Purpose.MARKETING)
    )


async def test_a_reply_from_another_address_finds_the_lead_its_reply_address_names(
    http, database, store
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    another = make_lead(database, store, consent=[Channel.EMAIL])
    own = reply_address(SECRET, lead_id, "reply.store.example")
    forged = own.replace(own[-30:-20], "0" * 10)  # a signature that is not Facet's
    # Asha answers from her work address, which no lead has.
    fields, files = inbound_parse_post("asha@work.example", "Yes, Saturday works", to=own)
    bad_fields, bad_files = inbound_parse_post("asha@work.example", "Hello", to=forged)

    answer = await http.post(INBOUND, data=fields, files=files)
    refused = await http.post(INBOUND, data=bad_fields, files=bad_files)

    assert answer.json()["leads"] == 1 and refused.json()["leads"] == 0
    assert [e.kind for e in _events(database, lead_id)] == ["reply"]
    assert _events(database, another) == []


async def test_an_email_reply_shows_on_the_newest_email_that_went_out_as_replied(
    http, database, store
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    now = datetime.now(UTC)

    def emails(session) -> list[uuid.UUID]:
        ids = []
        for step_id, days_ago in (("welcome", 3), ("four_cs", 1)):
            touch, _new = TouchRepository(session).claim(
                Touch(
                    lead_id=lead_id,
                    store_id=store.id,
                    step_id=step_id,
                    channel=Channel.EMAIL,
                    purpose=Purpose.MARKETING,
                    template=f"engagement/{step_id}",
                    idempotency_key=f"test:{uuid.uuid4()}",
                    status=TouchStatus.DELIVERED,
                    provider="sendgrid",
                    provider_message_id=f"sg{uuid.uuid4().hex[:20]}",
                    sent_at=now - timedelta(days=days_ago),
                )
            )
            ids.append(touch.id)
        return ids

    welcome, four_cs = database.run(emails)
    fields, files = inbound_parse_post(_email_of(database, lead_id), "Which clarity is best?")

    await http.post(INBOUND, data=fields, files=files)

    statuses = database.read(
        lambda s: [s.get_one(Touch, touch_id).status for touch_id in (welcome, four_cs)]
    )
    assert statuses == [TouchStatus.DELIVERED, TouchStatus.REPLIED]


async def test_an_out_of_office_answer_is_no_reply_and_pauses_nothing(
    http, database, store, dev_server, task_queue
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    workflow_id, start = enroll(database, lead_id, sequence=PAUSES_ON_REPLY)
    handle = await dev_server.client.start_workflow(
        NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
    )
    fields, files = inbound_parse_post(
        _email_of(database, lead_id), "I am away until Monday.", subject="Out of office"
    )
    fields["headers"] += "Auto-Submitted: auto-replied\n"

    answer = await http.post(INBOUND, data=fields, files=files)

    assert answer.json() == {"leads": 0, "automatic": True}
    assert _events(database, lead_id) == []
    view = await handle.query(NurtureJourney.status)
    assert view.paused_until is None
    await handle.terminate("test over")


async def test_an_email_delivered_twice_is_recorded_once(http, database, store):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL])
    fields, files = inbound_parse_post(
        _email_of(database, lead_id), "Is the pendant still there?", message_id="<m1@example.com>"
    )

    first = await http.post(INBOUND, data=fields, files=files)
    again = await http.post(INBOUND, data=fields, files=files)

    assert (first.status_code, again.status_code) == (200, 200)
    assert [e.kind for e in _events(database, lead_id)] == ["reply"]


async def test_an_email_from_an_unknown_address_is_answered_and_recorded_nowhere(
    http, database, store
):
    fields, files = inbound_parse_post(f"nobody.{uuid.uuid4().hex[:6]}@example.com", "Hello")
    before = database.read(lambda s: s.scalar(select(func.count()).select_from(Event)))

    answer = await http.post(INBOUND, data=fields, files=files)

    assert answer.status_code == 200 and answer.json() == {"leads": 0, "automatic": False}
    assert database.read(lambda s: s.scalar(select(func.count()).select_from(Event))) == before


async def test_an_inbound_post_without_a_sender_names_the_field(http, database, store):
    fields, files = inbound_parse_post("asha@example.com", "Hello")
    fields["from"] = "not an address"

    answer = await http.post(INBOUND, data=fields, files=files)

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "from"]
