"""NurtureJourney on the time-skipping server, with the real activities and database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.vocabulary import JourneyStatus, TouchStatus
from sequences.vocabulary import Channel, EventKind, Purpose
from tests.factories import enroll, enrollment, make_lead, touches
from tests.workflows.replay import keep_history
from workflows.journey import JourneyEvent, JourneyResult, NurtureJourney


async def _start(
    env: WorkflowEnvironment, task_queue: str, workflow_id: str, start
) -> WorkflowHandle:
    return await env.client.start_workflow(
        NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
    )


def _days_after_enrolment(result: JourneyResult, start) -> dict[str, float]:
    return {
        step.step_id: round((step.at - start.enrolled_at) / timedelta(days=1), 2)
        for step in result.steps
    }


async def test_welcome_sends_at_once_then_after_two_and_seven_days(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store, preferred=Channel.WHATSAPP)
    workflow_id, start = enroll(database, lead_id)
    async with worker_for(time_skipping.client) as task_queue:
        handle = await _start(time_skipping, task_queue, workflow_id, start)
        result = await handle.result()
        await keep_history(handle, "journey_welcome_completed")

    assert result.status is JourneyStatus.COMPLETED
    assert _days_after_enrolment(result, start) == {"welcome": 0, "four_cs": 2, "viewing_invite": 7}
    sent = touches(database, lead_id)
    assert [(t.step_id, t.channel, t.status) for t in sent] == [
        # The lead never wrote on WhatsApp: its 24-hour window is closed, so email carries it.
        ("welcome", Channel.EMAIL, TouchStatus.OUTBOX),
        ("four_cs", Channel.EMAIL, TouchStatus.OUTBOX),
        ("viewing_invite", Channel.EMAIL, TouchStatus.OUTBOX),
    ]
    assert "Asha" in (sent[0].body or "")
    assert enrollment(database, workflow_id).status is JourneyStatus.COMPLETED


async def test_purchase_on_day_three_ends_journey_converted_and_day_seven_sends_nothing(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)
    workflow_id, start = enroll(database, lead_id)
    async with worker_for(time_skipping.client) as task_queue:
        handle = await _start(time_skipping, task_queue, workflow_id, start)
        await time_skipping.sleep(timedelta(days=3))
        purchase = JourneyEvent(
            event_id=uuid.uuid4(),
            kind=EventKind.PURCHASE,
            occurred_at=datetime.now(UTC),
            revenue_minor=185_000_00,
            currency="INR",
        )
        await handle.signal(NurtureJourney.record_event, purchase)
        result = await handle.result()
        await keep_history(handle, "journey_converted_on_day_3")
        await time_skipping.sleep(timedelta(days=5))

    assert result.status is JourneyStatus.CONVERTED
    assert result.revenue_minor == 185_000_00
    assert [t.step_id for t in touches(database, lead_id)] == ["welcome", "four_cs"]
    row = enrollment(database, workflow_id)
    assert (row.status, row.revenue_minor, row.currency) == (
        JourneyStatus.CONVERTED,
        185_000_00,
        "INR",
    )


async def test_repeated_event_is_counted_once_and_opt_out_exits(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)
    workflow_id, start = enroll(database, lead_id)
    visit = JourneyEvent(
        event_id=uuid.uuid4(), kind=EventKind.STORE_VISIT, occurred_at=start.enrolled_at
    )
    async with worker_for(time_skipping.client) as task_queue:
        handle = await _start(time_skipping, task_queue, workflow_id, start)
        await handle.signal(NurtureJourney.record_event, visit)
        await handle.signal(NurtureJourney.record_event, visit)
        await time_skipping.sleep(timedelta(days=1))
        opt_out = visit.model_copy(update={"event_id": uuid.uuid4(), "kind": EventKind.OPTED_OUT})
        await handle.signal(NurtureJourney.record_event, opt_out)
        result = await handle.result()

    assert result.status is JourneyStatus.EXITED
    assert result.outcome == "opted_out"
    assert [t.step_id for t in touches(database, lead_id)] == ["welcome"]


async def test_status_query_names_the_next_step_and_when_it_is_due(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)
    workflow_id, start = enroll(database, lead_id)
    async with worker_for(time_skipping.client) as task_queue:
        handle = await _start(time_skipping, task_queue, workflow_id, start)
        await time_skipping.sleep(timedelta(hours=1))
        view = await handle.query(NurtureJourney.status)
        await handle.terminate("test over")

    assert view.current_step == "four_cs"
    assert start.enrolled_at is not None
    assert view.next_due_at == start.enrolled_at + timedelta(days=2)
    assert [step.step_id for step in view.history] == ["welcome"]


async def test_lead_without_consent_gets_the_enquiry_answer_but_no_marketing(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store, consent=())
    workflow_id, start = enroll(database, lead_id)
    async with worker_for(time_skipping.client) as task_queue:
        handle = await _start(time_skipping, task_queue, workflow_id, start)
        result = await handle.result()

    assert result.status is JourneyStatus.COMPLETED
    rows = touches(database, lead_id)
    assert [(t.step_id, t.purpose, t.status, t.reason) for t in rows] == [
        ("welcome", Purpose.TRANSACTIONAL, TouchStatus.OUTBOX, None),
        ("four_cs", Purpose.MARKETING, TouchStatus.SUPPRESSED, "no_consent"),
        ("viewing_invite", Purpose.MARKETING, TouchStatus.SUPPRESSED, "no_consent"),
    ]
    assert all(t.provider is None for t in rows[1:])
