"""What one event does beyond the score, on the time-skipping server:
- a change of segment enrolls the lead in the new segment's journey, once per sequence;
- a purchase or an opt-out ends the lead's open escalation tasks (no reassignment after)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.vocabulary import JourneyStatus, TaskStatus
from core.workflow_ids import journey_workflow_id, task_workflow_id
from db.models import Enrollment, Lead, Task, Touch
from sequences.vocabulary import EventKind
from tests.factories import add_event, make_lead
from workflows.escalation import EscalationTask
from workflows.qualification import QualifyLead
from workflows.qualification_model import QualifyInput, QualifyOutcome


async def _qualify(
    client, task_queue, database, store, lead_id, kind: EventKind, text: str | None = None
) -> QualifyOutcome:
    """Record an event for the lead and run its QualifyLead to the end."""
    event_id = add_event(database, store, lead_id, kind.value, {"text": text} if text else None)
    return await client.execute_workflow(
        QualifyLead.run,
        QualifyInput(lead_id=lead_id, event_id=event_id),
        id=f"qualify:{event_id}",
        task_queue=task_queue,
    )


def _enrollments(database, lead_id) -> list[Enrollment]:
    return list(
        database.run(
            lambda s: s.scalars(select(Enrollment).where(Enrollment.lead_id == lead_id)).all()
        )
    )


async def test_a_segment_change_enrolls_the_lead_in_that_segments_journey_once(
    time_skipping, worker_for, database, store
):
    lead_id = make_lead(database, store)

    def wedding_next_year(session) -> None:  # so the bridal journey has months still to run
        row = session.get_one(Lead, lead_id)
        row.occasion_dates = {"wedding": (date.today() + timedelta(days=300)).isoformat()}

    database.run(wedding_next_year)
    client = time_skipping.client
    wedding = "We are planning our wedding in February and need a bridal set"
    async with worker_for(client) as task_queue:

        async def on(kind: EventKind, text: str | None = None) -> QualifyOutcome:
            return await _qualify(client, task_queue, database, store, lead_id, kind, text)

        first = await on(EventKind.ENQUIRY, wedding)
        assert first.enrolled == "enrolled"
        lead = database.run(lambda s: s.get_one(Lead, lead_id))
        assert lead.segment == "bridal" and "wedding" in (lead.segment_reason or "")
        [row] = _enrollments(database, lead_id)
        assert row.sequence_key == "bridal" and row.status is JourneyStatus.ACTIVE
        handle = client.get_workflow_handle(journey_workflow_id(lead_id, "bridal"))
        description = await handle.describe()
        assert description.workflow_type == "NurtureJourney"

        # The same segment again: nothing to do.
        again = await on(EventKind.ENQUIRY, wedding)
        assert again.enrolled is None

        # The segment moves away and back: the bridal journey already runs, no second one.
        def elsewhere(session) -> None:
            row = session.get_one(Lead, lead_id)
            row.segment, row.segment_reason = "daily_wear", "set by a test"

        database.run(elsewhere)
        back = await on(EventKind.ENQUIRY, wedding)
        assert back.enrolled == "enroll_already_running"
        assert [e.sequence_key for e in _enrollments(database, lead_id)] == ["bridal"]


@pytest.mark.parametrize("ending", [EventKind.PURCHASE, EventKind.OPTED_OUT])
async def test_a_purchase_or_opt_out_ends_the_leads_open_tasks(
    time_skipping, worker_for, database, store, ending
):
    lead_id = make_lead(database, store)
    client = time_skipping.client
    question = "Is the 1.2 carat oval GIA certified?"
    async with worker_for(client) as task_queue:

        async def on(kind: EventKind, text: str | None = None) -> QualifyOutcome:
            return await _qualify(client, task_queue, database, store, lead_id, kind, text)

        opened = await _qualify(
            client, task_queue, database, store, lead_id, EventKind.QUESTION, question
        )
        assert opened.task_id is not None
        task_id = opened.task_id
        assignee = database.run(lambda s: s.get_one(Task, task_id)).assignee_id

        ended = await on(ending)
        assert ended.cancelled_tasks == [task_id] and ended.task_id is None

        escalation = client.get_workflow_handle_for(EscalationTask.run, task_workflow_id(task_id))
        result = await escalation.result()
        assert result.status is TaskStatus.CANCELLED and result.outcome is None
        assert result.breaches == 0

        # The workflow is over, so the SLA can no longer reassign it: nobody else got it.
        task = database.run(lambda s: s.get_one(Task, task_id))
        assert task.status is TaskStatus.CANCELLED and task.assignee_id == assignee
        assert task.history[-1]["event"] == "cancelled"
        assert not any("sla breach" in entry["event"] for entry in task.history)
        notices = database.run(
            lambda s: s.scalars(
                select(Touch).where(Touch.lead_id == lead_id, Touch.template == "task/notice")
            ).all()
        )
        assert len(notices) == 1
