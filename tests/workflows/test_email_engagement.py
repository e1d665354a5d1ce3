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


async def _run_clicking(env, worker_for, database, lead_id, sequence, *clicks):
    """Run the journey; each click is (how long after the last, the step whose email the
    lead clicked), reported by SendGrid's signed event webhook."""
    workflow_id, start = enroll(database, lead_id, sequence=sequence)
    async with (
        worker_for(env.client) as task_queue,
        api_client(
            database,
            env.client,
            task_queue,
            public_base_url=PUBLIC,
            sendgrid_webhook_public_key=PUBLIC_KEY,
        ) as http,
    ):
        handle = await env.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        for after, step_id in clicks:
            await env.sleep(after)
            [email] = [t for t in touches(database, lead_id) if t.step_id == step_id]
            click = [{"event": "click", "sg_event_id": uuid.uuid4().hex, "touch_id": str(email.id)}]
            body = json.dumps(click).encode()
            answer = await http.post(
                "/v1/webhooks/sendgrid/events", content=body, headers=sendgrid_signed(body)
            )
            assert answer.status_code == 200
        return await handle.result(), start


async def test_a_step_waiting_for_a_click_moves_on_when_the_click_arrives(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL], preferred=Channel.EMAIL)
    # The guide went out; a day later the lead clicks a link in it.
    result, start = await _run_clicking(
        time_skipping,
        worker_for,
        database,
        lead_id,
        WAITS_FOR_A_CLICK,
        (timedelta(days=1), "guide"),
    )

    assert [t.step_id for t in touches(database, lead_id)] == ["guide", "viewing"]
    arrived = next(s for s in result.steps if s.step_id == "guide" and s.reason)
    assert (arrived.status, arrived.reason) == ("event_arrived", "email_clicked")
    assert arrived.at - start.enrolled_at < timedelta(days=2)  # not the three-day timeout
    tasks = database.read(lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id)).all())
    assert list(tasks) == []
    assert (result.status, result.outcome) == (JourneyStatus.COMPLETED, "flow_done")


WAITS_FOR_A_CLICK_ON_ITS_OWN_EMAIL = Sequence.model_validate(
    yaml.safe_load(
        """
key: click_test
name: A welcome, then a guide that waits for a click on itself
steps:
  - id: welcome
    send: {channel: email, template: engagement/welcome}
  - id: guide
    at: {days: 1}
    send: {channel: email, template: engagement/four_cs}
    wait_for: {event: email_clicked, where: {step_id: guide}, within: {days: 3}, else: call}
  - id: skip_call
    goto: done
  - id: call
    task: {role: associate, reason: The guide went unread for three days}
  - id: done
    exit: {outcome: flow_done}
"""
    )
)


async def test_a_wait_for_a_click_on_its_own_email_ignores_a_click_on_an_older_one(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL], preferred=Channel.EMAIL)
    # Two days in, the guide is out and waiting: the lead clicks the welcome's link, which
    # does not count; a day later, the guide's, which does (before the wait runs out).
    result, start = await _run_clicking(
        time_skipping,
        worker_for,
        database,
        lead_id,
        WAITS_FOR_A_CLICK_ON_ITS_OWN_EMAIL,
        (timedelta(days=2), "welcome"),
        (timedelta(days=1), "guide"),
    )

    waited = next(s for s in result.steps if s.step_id == "guide" and s.reason)
    assert (waited.status, waited.reason) == ("event_arrived", "email_clicked")
    assert timedelta(days=3) <= waited.at - start.enrolled_at < timedelta(days=4)
    tasks = database.read(lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id)).all())
    assert list(tasks) == []
