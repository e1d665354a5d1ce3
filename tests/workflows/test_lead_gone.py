"""A lead deleted while its journey sleeps: the next step fails once, for good, and the journey
ends with the reason on record, instead of retrying for ever."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete
from temporalio.api.enums.v1 import EventType

from core.vocabulary import JourneyStatus, TouchStatus
from db.models import Consent, ConsentRecord, Enrollment, Event, Lead, Task, Touch
from sequences.model import Condition, Offset, SendAction, Sequence, Step
from sequences.vocabulary import EventKind
from tests.factories import enroll, make_lead, touches
from tests.workflows.replay import keep_history
from workflows.journey import NurtureJourney


def erase(database, lead_id: uuid.UUID) -> None:
    """Delete the lead and every row about them (what a "forget me" request does)."""

    def work(session) -> None:
        for model in (Touch, Task, Event, Consent, ConsentRecord, Enrollment):
            session.execute(delete(model).where(model.lead_id == lead_id))
        session.execute(delete(Lead).where(Lead.id == lead_id))

    database.run(work)


async def test_a_lead_deleted_mid_journey_ends_it_once_with_the_reason(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)
    workflow_id, start = enroll(database, lead_id)  # welcome now, the 4Cs on day 2
    async with worker_for(time_skipping.client) as task_queue:
        handle = await time_skipping.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        await time_skipping.sleep(timedelta(hours=1))
        assert [t.status for t in touches(database, lead_id)] == [TouchStatus.OUTBOX]

        erase(database, lead_id)
        result = await handle.result()
        await keep_history(handle, "journey_lead_deleted")

    assert (result.status, result.outcome) == (JourneyStatus.EXITED, "lead_deleted")
    last = result.steps[-1]
    assert (last.step_id, last.status, last.reason) == ("four_cs", "failed", "lead_deleted")

    # The 4Cs send was tried once, failed for good (not retried), and the workflow completed.
    history = await handle.fetch_history()
    failures = [
        event.activity_task_failed_event_attributes.failure
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    assert len(failures) == 1
    info = failures[0].application_failure_info
    assert (info.type, info.non_retryable) == ("UnknownLead", True)
    starts = [
        event.activity_task_started_event_attributes.attempt
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert max(starts) == 1, "no activity was retried"
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_a_lead_deleted_before_a_conditional_step_ends_the_journey_at_its_facts(
    time_skipping, database, store, worker_for
):
    """A `when` step reads the lead's facts first (a local activity): that read fails for good."""
    sequence = Sequence(
        key="lead_gone_check",
        name="A check on day two",
        steps=(
            Step(id="welcome", send=SendAction(template="engagement/welcome")),
            Step(
                id="check",
                at=Offset(days=2),
                when=Condition(not_seen=EventKind.PURCHASE),
                send=SendAction(template="engagement/four_cs"),
            ),
        ),
    )
    lead_id = make_lead(database, store)
    workflow_id, start = enroll(database, lead_id, sequence=sequence)
    async with worker_for(time_skipping.client) as task_queue:
        handle = await time_skipping.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        await time_skipping.sleep(timedelta(hours=1))
        erase(database, lead_id)
        result = await handle.result()

    assert (result.status, result.outcome) == (JourneyStatus.EXITED, "lead_deleted")
    last = result.steps[-1]
    assert (last.step_id, last.status, last.reason) == ("check", "failed", "lead_deleted")
