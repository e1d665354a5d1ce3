"""NurtureJourney ends as superseded when told, on the time-skipping server: it sends nothing
more, and its enrollment row says so."""

from __future__ import annotations

from datetime import timedelta

from core.vocabulary import JourneyStatus
from tests.factories import enroll, enrollment, make_lead, touches
from tests.workflows.replay import keep_history
from workflows.journey import NurtureJourney
from workflows.journey_model import SupersedeRequest


async def test_a_superseded_journey_sends_nothing_more_and_its_row_says_why(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)
    workflow_id, start = enroll(database, lead_id)  # welcome now, guides on days 2 and 7
    async with worker_for(time_skipping.client) as task_queue:
        handle = await time_skipping.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        await time_skipping.sleep(timedelta(days=1))
        await handle.signal(NurtureJourney.supersede, SupersedeRequest(reason="new_run"))
        await handle.signal(NurtureJourney.supersede, SupersedeRequest(reason="segment_changed"))
        result = await handle.result()
        await keep_history(handle, "journey_superseded")

    assert (result.status, result.outcome) == (JourneyStatus.SUPERSEDED, "new_run")
    assert [(s.step_id, s.status) for s in result.steps][-1] == ("four_cs", "superseded")
    assert [t.step_id for t in touches(database, lead_id)] == ["welcome"]
    row = enrollment(database, workflow_id)
    assert (row.status, row.outcome) == (JourneyStatus.SUPERSEDED, "new_run")
