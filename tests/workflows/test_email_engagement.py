"""A journey hears the lead's email engagement: a click SendGrid reports through the signed
event webhook reaches a step waiting for it, on the time-skipping server with the real app,
activities and database."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import yaml
from sqlalchemy import select

from core.vocabulary import JourneyStatus
from db.models import Task
from sequences.model import Sequence
from sequences.vocabulary import Channel
from tests.api.test_webhooks import PUBLIC, PUBLIC_KEY, sendgrid_signed
from tests.conftest import api_client
from tests.factories import enroll, make_lead, touches
from workflows.journey import NurtureJourney

WAITS_FOR_A_CLICK = Sequence.model_validate(
    yaml.safe_load(
        """
key: click_test
name: Sends a guide and waits for a click on it
steps:
  - id: guide
    send: {channel: email, template: engagement/four_cs}
    wait_for: {event: email_clicked, within: {days: 3}, else: call}
  - id: viewing
    send: {channel: email, template: engagement/viewing_invite}
  - id: skip_call
    goto: done
  - id: call
    task: {role: associate, reason: The guide went unread for three days}
  - id: done
    exit: {outcome: flow_done}
"""
    )
)


async def test_a_step_waiting_for_a_click_moves_on_when_the_click_arrives(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL], preferred=Channel.EMAIL)
    workflow_id, start = enroll(database, lead_id, sequence=WAITS_FOR_A_CLICK)
    async with (
        worker_for(time_skipping.client) as task_queue,
        api_client(
            database,
            time_skipping.client,
            task_queue,
            public_base_url=PUBLIC,
            sendgrid_webhook_public_key=PUBLIC_KEY,
        ) as http,
    ):
        handle = await time_skipping.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        await time_skipping.sleep(timedelta(days=1))  # the guide went out; a day passes
        [guide] = touches(database, lead_id)
        click = [{"event": "click", "sg_event_id": uuid.uuid4().hex, "touch_id": str(guide.id)}]
        body = json.dumps(click).encode()
        answer = await http.post(
            "/v1/webhooks/sendgrid/events", content=body, headers=sendgrid_signed(body)
        )
        result = await handle.result()

    assert answer.status_code == 200
    assert [t.step_id for t in touches(database, lead_id)] == ["guide", "viewing"]
    arrived = next(s for s in result.steps if s.step_id == "guide" and s.reason)
    assert (arrived.status, arrived.reason) == ("event_arrived", "email_clicked")
    assert arrived.at - start.enrolled_at < timedelta(days=2)  # not the three-day timeout
    tasks = database.read(lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id)).all())
    assert list(tasks) == []
    assert (result.status, result.outcome) == (JourneyStatus.COMPLETED, "flow_done")
