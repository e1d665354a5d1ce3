"""The sequence language at work: waits and branches, conditions, tasks, pauses, reactions,
calendar anchors and enrolling into another journey — on the time-skipping server with the
real activities and database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from core.vocabulary import JourneyStatus
from db.models import Enrollment, Task
from db.repositories import LeadRepository
from sequences.model import Sequence
from sequences.vocabulary import EventKind, StaffRole
from tests.factories import enroll, make_lead, touches
from tests.workflows.replay import keep_history
from workflows.journey import JourneyEvent, NurtureJourney


def _sequence(text: str) -> Sequence:
    return Sequence.model_validate(yaml.safe_load(text))


async def _run(env, worker_for, database, lead_id, sequence, during=None, keep=None):
    workflow_id, start = enroll(database, lead_id, sequence=sequence)
    async with worker_for(env.client) as task_queue:
        handle = await env.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        if during is not None:
            await during(handle, start)
        result = await handle.result()
        if keep:
            await keep_history(handle, keep)
    return result, start


def _event(kind: EventKind, **facts: str) -> JourneyEvent:
    return JourneyEvent(
        event_id=uuid.uuid4(), kind=kind, occurred_at=datetime.now(UTC), facts=facts
    )


def _tasks(database, lead_id) -> list[Task]:
    return list(
        database.run(
            lambda s: s.scalars(
                select(Task).where(Task.lead_id == lead_id).order_by(Task.created_at)
            ).all()
        )
    )


CONSULT = """
key: consult_test
name: Consultation
steps:
  - id: invite
    send: {template: engagement/viewing_invite}
    wait_for: {event: appointment_booked, within: {days: 7}, else: call}
  - id: thanks
    send: {template: engagement/four_cs}
  - id: skip_call
    goto: done
  - id: call
    task: {role: associate, reason: No consultation booked a week after the invitation}
  - id: done
    at: {days: 10}
    exit: {outcome: consult_flow_done}
"""


async def test_wait_for_timing_out_takes_the_else_branch_and_opens_a_task(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)
    result, start = await _run(
        time_skipping,
        worker_for,
        database,
        lead_id,
        _sequence(CONSULT),
        keep="journey_wait_for_else_branch",
    )

    assert [t.step_id for t in touches(database, lead_id)] == ["invite"]
    [task] = _tasks(database, lead_id)
    assert (task.role_needed, task.reason) == (
        StaffRole.ASSOCIATE,
        "No consultation booked a week after the invitation",
    )
    assert (result.status, result.outcome) == (JourneyStatus.COMPLETED, "consult_flow_done")
    waited = next(s for s in result.steps if s.status == "timed_out")
    assert waited.at - start.enrolled_at >= timedelta(days=7)


async def test_wait_for_event_arriving_in_time_continues_and_goto_skips_ahead(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)

    async def book_on_day_two(handle, start):
        await time_skipping.sleep(timedelta(days=2))
        await handle.signal(NurtureJourney.record_event, _event(EventKind.APPOINTMENT_BOOKED))

    result, _ = await _run(
        time_skipping, worker_for, database, lead_id, _sequence(CONSULT), book_on_day_two
    )
    assert [t.step_id for t in touches(database, lead_id)] == ["invite", "thanks"]
    assert _tasks(database, lead_id) == []
    assert [s.status for s in result.steps] == ["outbox", "event_arrived", "outbox", "goto", "exit"]


async def test_wait_for_matches_event_facts(time_skipping, database, store, worker_for):
    sequence = _sequence(
        """
key: job_test
name: Job
goal: null
steps:
  - id: wait_cad
    wait_for: {event: job_status, where: {status: cad_ready}, within: {days: 30}, else: gave_up}
  - id: renders_ready
    send: {template: engagement/viewing_invite}
  - id: finished
    exit: {}
  - id: gave_up
    exit: {outcome: no_cad}
"""
    )
    lead_id = make_lead(database, store)

    async def statuses(handle, start):
        await handle.signal(
            NurtureJourney.record_event, _event(EventKind.JOB_STATUS, status="designing")
        )
        await time_skipping.sleep(timedelta(days=3))
        await handle.signal(
            NurtureJourney.record_event, _event(EventKind.JOB_STATUS, status="cad_ready")
        )

    result, _ = await _run(time_skipping, worker_for, database, lead_id, sequence, statuses)
    assert result.outcome == "completed"
    assert [t.step_id for t in touches(database, lead_id)] == ["renders_ready"]


async def test_when_skips_a_step_unless_the_lead_qualifies(
    time_skipping, database, store, worker_for
):
    sequence = _sequence(
        """
key: when_test
name: When
steps:
  - id: for_high_scores
    when: {score_at_least: 40}
    send: {template: engagement/welcome}
  - id: for_vips
    when: {attributes: {vip: "yes"}}
    send: {template: engagement/four_cs}
"""
    )
    lead_id = make_lead(database, store)

    def qualify(session: Any) -> None:
        lead = LeadRepository(session).get(lead_id)
        assert lead is not None
        lead.score, lead.attributes = 35, {"vip": "yes"}

    database.run(qualify)
    result, _ = await _run(time_skipping, worker_for, database, lead_id, sequence)
    assert [(s.step_id, s.status, s.reason) for s in result.steps] == [
        ("for_high_scores", "skipped", "condition"),
        ("for_vips", "outbox", None),
    ]


async def test_reply_pauses_sends_and_asks_the_owner_to_answer(
    time_skipping, database, store, worker_for
):
    sequence = _sequence(
        """
key: reply_test
name: Reply
reply_pauses: {hours: 72}
steps:
  - id: hello
    send: {template: engagement/welcome}
  - id: day_one
    at: {days: 1}
    send: {template: engagement/four_cs}
  - id: day_five
    at: {days: 5}
    send: {template: engagement/viewing_invite}
"""
    )
    lead_id = make_lead(database, store)

    async def reply_after_an_hour(handle, start):
        await time_skipping.sleep(timedelta(hours=1))
        await handle.signal(NurtureJourney.record_event, _event(EventKind.REPLY))

    result, _ = await _run(
        time_skipping,
        worker_for,
        database,
        lead_id,
        sequence,
        reply_after_an_hour,
        keep="journey_reply_pause",
    )
    # Day 1 falls inside the 72-hour pause and would be two days late: it is missed, not sent.
    assert [(s.step_id, s.status) for s in result.steps] == [
        ("hello", "outbox"),
        ("day_one", "missed"),
        ("day_five", "outbox"),
    ]
    [task] = _tasks(database, lead_id)
    assert (task.kind, task.priority, task.role_needed) == (
        "answer_reply",
        "hot",
        StaffRole.ASSOCIATE,
    )


async def test_on_event_opens_a_gemologist_task_once_per_event(
    time_skipping, database, store, worker_for
):
    sequence = _sequence(
        """
key: question_test
name: Questions
on_event:
  technical_question: {task: {role: gemologist, reason: Certification question, sla: {hours: 4}}}
steps:
  - id: hello
    send: {template: engagement/welcome}
  - id: later
    at: {days: 3}
    send: {template: engagement/four_cs}
"""
    )
    lead_id = make_lead(database, store)
    question = _event(EventKind.TECHNICAL_QUESTION)

    async def ask_twice(handle, start):
        await time_skipping.sleep(timedelta(days=1))
        await handle.signal(NurtureJourney.record_event, question)
        await handle.signal(NurtureJourney.record_event, question)

    await _run(time_skipping, worker_for, database, lead_id, sequence, ask_twice)
    [task] = _tasks(database, lead_id)
    assert (task.role_needed, task.reason) == (StaffRole.GEMOLOGIST, "Certification question")
    assert task.sla_due_at is not None  # four hours after the question, on the journey's clock


async def test_calendar_anchor_sends_at_the_leads_local_time(
    time_skipping, database, store, worker_for
):
    sequence = _sequence(
        """
key: season_test
name: Proposal season
steps:
  - id: proposal_season
    at: {next: "12-01 10:00"}
    send: {template: engagement/viewing_invite}
"""
    )
    lead_id = make_lead(database, store, timezone="Asia/Kolkata")
    result, start = await _run(time_skipping, worker_for, database, lead_id, sequence)
    [step] = result.steps
    local = step.at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert (local.month, local.day, local.hour, local.minute) == (12, 1, 10, 0)
    assert timedelta(0) < step.at - start.enrolled_at <= timedelta(days=366)


async def test_enroll_starts_another_journey_that_outlives_this_one(
    time_skipping, database, store, worker_for
):
    sequence = _sequence(
        """
key: handoff_test
name: Hand-off
steps:
  - id: hello
    send: {template: engagement/welcome}
  - id: to_welcome
    enroll: {sequence: engagement_welcome}
"""
    )
    lead_id = make_lead(database, store)
    result, _ = await _run(time_skipping, worker_for, database, lead_id, sequence)
    assert [s.status for s in result.steps] == ["outbox", "enrolled"]
    child_id = f"journey:{lead_id}:engagement_welcome"
    enrollment = database.run(
        lambda s: s.scalars(select(Enrollment).where(Enrollment.workflow_id == child_id)).one()
    )
    assert enrollment.status is JourneyStatus.ACTIVE
    description = await time_skipping.client.get_workflow_handle(child_id).describe()
    assert description.workflow_type == "NurtureJourney"
