"""Journeys live for months: they continue as new when the server suggests it, carrying
their state and the event ids they have seen (the dev server here suggests it at 60 events)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import yaml

from core.vocabulary import JourneyStatus
from sequences.model import Sequence
from sequences.vocabulary import EventKind
from tests.factories import enroll, make_lead, touches
from tests.workflows.replay import keep_history
from workflows.journey import JourneyEvent, JourneyResult, NurtureJourney

SLOW = Sequence.model_validate(
    yaml.safe_load(
        """
key: slow_test
name: Slow
steps:
  - id: hello
    send: {template: engagement/welcome}
  - id: in_a_month
    at: {days: 30}
    send: {template: engagement/four_cs}
"""
    )
)


async def test_many_events_continue_as_new_and_are_still_counted_once(
    dev_server, database, store, worker_for
):
    lead_id = make_lead(database, store)
    workflow_id, start = enroll(database, lead_id, sequence=SLOW)
    views = [
        JourneyEvent(
            event_id=uuid.uuid4(), kind=EventKind.PRODUCT_VIEW, occurred_at=datetime.now(UTC)
        )
        for _ in range(80)
    ]
    async with worker_for(dev_server.client) as task_queue:
        handle = await dev_server.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        for view in views:
            await handle.signal(NurtureJourney.record_event, view)
        for _ in range(200):  # wait for the journey to roll over (real time: a few seconds)
            if (await handle.describe()).run_id != handle.first_execution_run_id:
                break
            await asyncio.sleep(0.05)
        latest = dev_server.client.get_workflow_handle(workflow_id, result_type=JourneyResult)
        assert (await latest.describe()).run_id != handle.first_execution_run_id

        for view in views[:10]:  # the same events again, after the rollover
            await latest.signal(NurtureJourney.record_event, view)
        purchase = JourneyEvent(
            event_id=uuid.uuid4(),
            kind=EventKind.PURCHASE,
            occurred_at=datetime.now(UTC),
            revenue_minor=50_000_00,
            currency="INR",
        )
        await latest.signal(NurtureJourney.record_event, purchase)
        result = await latest.result()
        await keep_history(latest, "journey_continued_as_new")

    assert result.status is JourneyStatus.CONVERTED
    assert result.revenue_minor == 50_000_00
    # one welcome across all runs; the month-later step never came
    assert [t.step_id for t in touches(database, lead_id)] == ["hello"]
    assert [s.step_id for s in result.steps] == ["hello", "purchase"]
