"""Purchases, opt-outs and segment changes end only what they make pointless, over HTTP:
- a purchase cancels sales follow-up tasks, not a custom order's CAD task;
- a full opt-out ends marketing journeys and sales tasks; the custom order (service) goes on;
- a segment change ends the old segment's journey as superseded; the anniversary countdown
  that ran beside it goes on untouched;
- the generic welcome gives way to the segment's journey once the segment is known.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from core.vocabulary import ApiRole, JourneyStatus, TaskStatus
from core.workflow_ids import qualify_workflow_id
from db.models import Event, Task
from sequences.vocabulary import WorkPurpose
from tests.conftest import bearer
from tests.factories import enrollment, indian_mobile
from workflows.journey import NurtureJourney

QUESTION = "Is the 1.2 carat oval GIA certified?"  # a hard trigger: a person must answer


async def _task(database, lead_id: uuid.UUID, kind: str, *, seconds: float = 15.0) -> Task:
    """The lead's task of this kind, once its workflow has opened it."""
    for _ in range(int(seconds / 0.05)):
        found = database.read(
            lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id, Task.kind == kind))
            .first()
        )  # fmt: skip
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} task within {seconds:g} s")


def _status(database, task_id: uuid.UUID) -> TaskStatus:
    return database.read(lambda s: s.get_one(Task, task_id).status)


async def _qualified(dev_server, database, lead_id: uuid.UUID, kind: str) -> Any:
    """Wait for the QualifyLead of the lead's latest event of `kind`; its outcome."""
    event_id = database.read(
        lambda s: s.scalars(
            select(Event.id)
            .where(Event.lead_id == lead_id, Event.kind == kind)
            .order_by(Event.recorded_at.desc())
        ).first()
    )
    return await dev_server.client.get_workflow_handle(qualify_workflow_id(event_id)).result()


async def _capture(http, store, key: str, **fields: Any) -> dict[str, Any]:
    body = {"store_id": str(store.id), "source": "walk_in", **fields}
    answer = await http.post("/v1/leads", json=body, headers=bearer(key))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _said(http, lead_id, key: str, kind: str, text: str) -> None:
    """Staff record what the lead said, as an event of `kind`."""
    said = await http.post(
        f"/v1/leads/{lead_id}/events",
        json={"event_id": uuid.uuid4().hex, "kind": kind, "payload": {"text": text}},
        headers=bearer(key),
    )
    assert said.status_code == 201, said.text


async def _say(http, database, dev_server, lead_id, key: str, text: str) -> Any:
    """The lead makes an enquiry; what QualifyLead made of it."""
    await _said(http, lead_id, key, "enquiry", text)
    return await _qualified(dev_server, database, uuid.UUID(str(lead_id)), "enquiry")


async def _sales_task(http, database, lead_id: str, key: str) -> Task:
    """A sales follow-up: the lead's question a person must answer."""
    await _said(http, lead_id, key, "question", QUESTION)
    return await _task(database, uuid.UUID(lead_id), "certification_question")


async def test_a_purchase_cancels_sales_follow_ups_but_a_custom_orders_cad_task_stays_open(
    http, store, api_key, database, dev_server
):
    till = api_key(ApiRole.POS)
    phone = indian_mobile()
    lead = await _capture(http, store, till, phone=phone, segment="custom_design")
    assert lead["journey_workflow_id"].endswith(":custom_order")
    lead_id = uuid.UUID(lead["lead_id"])
    cad = await _task(database, lead_id, "cad")
    follow_up = await _sales_task(http, database, lead["lead_id"], till)
    assert (cad.purpose, follow_up.purpose) == (WorkPurpose.SERVICE, WorkPurpose.SALES)

    sale = {
        "store_id": str(store.id),
        "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
        "customer": {"phone": phone},
        "amount_minor": 50_000_00,
        "items": [{"name": "deposit on a custom ring", "category": "custom"}],
    }
    assert (await http.post("/v1/pos/purchases", json=sale, headers=bearer(till))).is_success
    outcome = await _qualified(dev_server, database, lead_id, "purchase")

    assert outcome["cancelled_tasks"] == [str(follow_up.id)]
    assert _status(database, follow_up.id) is TaskStatus.CANCELLED
    assert _status(database, cad.id) is TaskStatus.OPEN
    escalation = await dev_server.client.get_workflow_handle(f"task:{cad.id}").describe()
    assert escalation.status is WorkflowExecutionStatus.RUNNING


async def test_a_full_opt_out_ends_marketing_journeys_and_sales_tasks_but_service_goes_on(
    http, store, api_key, database, dev_server
):
    till, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    phone = indian_mobile()
    order = await _capture(
        http, store, till, phone=phone, message="A ring made to my own sketch, please"
    )
    lead_id = uuid.UUID(order["lead_id"])
    custom, engagement = (f"journey:{lead_id}:{key}" for key in ("custom_order", "engagement_ring"))
    # The capture is scored first, so it enrolls the custom order's journey at once.
    assert order["journey_workflow_id"] == custom
    await _qualified(dev_server, database, lead_id, "captured")
    # Later she asks about an engagement ring: that journey runs beside the custom order.
    moved = await _say(http, database, dev_server, lead_id, associate, "And solitaires, too")
    assert (moved["enrolled"], moved["superseded"]) == ("enrolled", []), "service runs beside"
    cad = await _task(database, lead_id, "cad")
    follow_up = await _sales_task(http, database, order["lead_id"], till)

    stopped = await http.post(
        f"/v1/leads/{lead_id}/events",
        json={"event_id": f"stop-{uuid.uuid4().hex[:8]}", "kind": "opted_out",
              "payload": {"note": "Asked us to stop all messages at the counter"}},
        headers=bearer(associate),
    )  # fmt: skip
    assert stopped.status_code == 201, stopped.text
    assert engagement in stopped.json()["delivered_to"]
    await _qualified(dev_server, database, lead_id, "opted_out")

    for marketing in (engagement,):
        ended = await dev_server.client.get_workflow_handle(marketing).result()
        assert (ended["status"], ended["outcome"]) == ("exited", "opted_out")
    order_journey = dev_server.client.get_workflow_handle_for(NurtureJourney.run, custom)
    assert (await order_journey.query(NurtureJourney.status)).status is JourneyStatus.ACTIVE
    assert enrollment(database, custom).status is JourneyStatus.ACTIVE
    assert _status(database, follow_up.id) is TaskStatus.CANCELLED
    assert _status(database, cad.id) is TaskStatus.OPEN


async def test_a_segment_change_supersedes_the_old_journey_and_the_countdown_runs_on(
    http, store, api_key, database, dev_server
):
    till, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    lead = await _capture(
        http, store, till, phone=indian_mobile(), occasions={"anniversary": "2016-06-14"}
    )
    lead_id = lead["lead_id"]
    [countdown] = lead["countdown_workflow_ids"]
    assert countdown.endswith(":anniversary")
    engagement = f"journey:{lead_id}:engagement_ring"
    # The anniversary journey asks for the date; this lead gave it, so it hands over to the
    # countdown and ends. (Asked before it ended, the segment change would supersede it.)
    handed_over = await dev_server.client.get_workflow_handle(
        f"journey:{lead_id}:anniversary"
    ).result()
    assert handed_over["status"] == "completed"

    ring = await _say(http, database, dev_server, lead_id, associate, "Looking at solitaires")
    assert (ring["enrolled"], ring["superseded"]) == ("enrolled", []), "the countdown runs beside"
    wedding = await _say(
        http, database, dev_server, lead_id, associate, "Now planning our wedding: a bridal set"
    )
    assert (wedding["enrolled"], wedding["superseded"]) == ("enrolled", [engagement])

    ended = await dev_server.client.get_workflow_handle(engagement).result()
    assert (ended["status"], ended["outcome"]) == ("superseded", "segment_changed")
    listed = (await http.get(f"/v1/leads/{lead_id}/journeys", headers=bearer(associate))).json()
    statuses = {j["sequence_key"]: j["status"] for j in listed}
    assert statuses == {
        "anniversary": "completed",
        "engagement_ring": "superseded",
        "bridal": "active",
        "anniversary_countdown": "active",
    }
    described = await dev_server.client.get_workflow_handle(countdown).describe()
    assert described.status is WorkflowExecutionStatus.RUNNING


async def test_the_generic_welcome_gives_way_once_the_lead_names_a_segment(
    http, store, api_key, database, dev_server
):
    till, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    lead = await _capture(http, store, till, phone=indian_mobile())  # said nothing yet
    lead_id = lead["lead_id"]
    welcome = f"journey:{lead_id}:welcome"
    assert lead["journey_workflow_id"] == welcome

    ring = await _say(http, database, dev_server, lead_id, associate, "Looking at solitaires")
    assert (ring["enrolled"], ring["superseded"]) == ("enrolled", [welcome])

    ended = await dev_server.client.get_workflow_handle(welcome).result()
    assert (ended["status"], ended["outcome"]) == ("superseded", "segment_changed")
    listed = (await http.get(f"/v1/leads/{lead_id}/journeys", headers=bearer(associate))).json()
    statuses = {j["sequence_key"]: j["status"] for j in listed}
    assert statuses == {"welcome": "superseded", "engagement_ring": "active"}


async def test_a_stop_on_one_channel_leaves_the_sales_follow_up_open(
    http, store, api_key, database, dev_server
):
    till, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    lead = await _capture(
        http,
        store,
        till,
        phone=indian_mobile(),
        email=f"noor.{uuid.uuid4().hex[:6]}@example.com",
        segment="engagement",
        consent={"email": True, "sms": True, "whatsapp": True, "evidence": "counter form"},
    )
    lead_id = uuid.UUID(lead["lead_id"])
    follow_up = await _sales_task(http, database, lead["lead_id"], till)

    stopped = await http.post(
        f"/v1/leads/{lead_id}/events",
        json={"event_id": f"stop-{uuid.uuid4().hex[:8]}", "kind": "opted_out",
              "payload": {"channel": "whatsapp", "note": "No WhatsApp, please"}},
        headers=bearer(associate),
    )  # fmt: skip
    assert stopped.status_code == 201, stopped.text
    assert stopped.json()["delivered_to"] == []  # email and SMS still reach her

    assert _status(database, follow_up.id) is TaskStatus.OPEN
    journey = dev_server.client.get_workflow_handle_for(
        NurtureJourney.run, lead["journey_workflow_id"]
    )
    assert (await journey.query(NurtureJourney.status)).status is JourneyStatus.ACTIVE
