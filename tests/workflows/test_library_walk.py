"""Every sequence in the library, walked for a sample lead on the time-skipping server.

For each sequence the journey must do what its dated plan says (sequences.preview.plan, the
marketing preview): the same steps, in the same order, on the same local dates, with sends
sent and tasks opened. A few dates are also checked against the calendar by hand, so the
plan itself cannot drift unnoticed.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from temporalio.service import RPCError

from core.vocabulary import TouchStatus
from db.models import Task
from db.repositories import LeadRepository
from sequences.calendar import festival_in_year
from sequences.loader import load_library
from sequences.model import Sequence
from sequences.preview import LeadSample, PlannedStep, plan
from sequences.timing import next_month_day
from sequences.vocabulary import Channel, Festival, Occasion
from tests.factories import enroll, enroll_countdown, make_lead, set_caps, touches
from workflows.journey import NurtureJourney
from workflows.journey_model import StepRecord
from workflows.occasion import OccasionCountdown

IST = ZoneInfo("Asia/Kolkata")
LIBRARY = load_library()
# What the workflow records for each kind of planned step.
RECORDED_AS = {
    "send": {TouchStatus.OUTBOX.value},
    "task": {"task_opened"},
    "wait": {"timed_out"},
    "goto": {"goto"},
    "exit": {"exit"},
    "enroll": {"enrolled", "enroll_already_running"},
    "skipped": {"skipped"},
    "missed": {"missed"},
}


async def _start_at_local_eleven(env) -> datetime:
    """Move the server's clock to the next 11:00 in India: inside every send window."""
    now = await env.get_current_time()
    local = now.astimezone(IST)
    eleven = local.replace(hour=11, minute=0, second=0, microsecond=0)
    if eleven <= local:
        eleven += timedelta(days=1)
    await env.sleep(eleven - local)
    return await env.get_current_time()


def _occasions(sequence: Sequence, start: datetime) -> dict[Occasion, date]:
    """Sample dates: an anniversary or birthday 60 days out, a wedding 200 days out."""
    day = start.astimezone(IST).date()
    return {
        Occasion.ANNIVERSARY: day + timedelta(days=60),
        Occasion.BIRTHDAY: day + timedelta(days=60),
        Occasion.WEDDING: day + timedelta(days=200),
    }


def _horizon(planned: list[PlannedStep], start: datetime) -> timedelta:
    last = max(step.at for step in planned)
    return last - start + timedelta(days=2)


async def _skip(env, span: timedelta) -> None:
    """Skip time a month at a time: each skip is one call the server must finish promptly."""
    while span > timedelta(0):
        step = min(span, timedelta(days=7))
        await env.sleep(step)
        span -= step


def _whatsapp_only(sequence: Sequence) -> set[str]:
    """Steps sent on WhatsApp only: outside the 24-hour window (no approved template in the
    library) the gate holds them back as `window_closed`, which is the rule, not a fault."""
    return {s.id for s in sequence.steps if s.send is not None and s.send.channel == "whatsapp"}


def _compare(
    planned: list[PlannedStep], done: list[StepRecord], sequence: Sequence, prefix: str = ""
) -> None:
    got = [
        (r.step_id.removeprefix(prefix), r.status, r.reason, r.at.astimezone(IST).date())
        for r in done
    ]
    expected = [(p.step_id, p.action, p.at.date()) for p in planned]
    assert len(got) == len(expected), f"steps differ:\n{got}\n{expected}"
    whatsapp_only = _whatsapp_only(sequence)
    for (step, status, reason, day), (plan_step, action, plan_day) in zip(
        got, expected, strict=True
    ):
        assert step == plan_step
        if step in whatsapp_only:
            assert (status, reason) == ("suppressed", "window_closed")
        else:
            assert status in RECORDED_AS[action], f"{step}: {status} for a planned {action}"
        if action != "missed":
            assert day == plan_day, f"{step}: ran on {day}, planned for {plan_day}"


JOURNEYS = sorted(key for key, sequence in LIBRARY.items() if sequence.occasion is None)
COUNTDOWNS = sorted(key for key, sequence in LIBRARY.items() if sequence.occasion is not None)


@pytest.mark.parametrize("key", JOURNEYS)
async def test_library_journey_runs_its_plan(key, time_skipping, database, store, worker_for):
    sequence = LIBRARY[key]
    set_caps(database, store, per_day=20, per_week=50)  # each sequence alone, uncapped
    start = await _start_at_local_eleven(time_skipping)
    occasions = _occasions(sequence, start)
    lead_id = make_lead(
        database, store, timezone="Asia/Kolkata", consent=list(Channel), preferred=Channel.EMAIL
    )

    def give_dates(session) -> None:
        lead = LeadRepository(session).get(lead_id)
        assert lead is not None
        lead.occasion_dates = {kind.value: day.isoformat() for kind, day in occasions.items()}

    database.run(give_dates)
    workflow_id, begin = enroll(database, lead_id, key=key, enrolled_at=start)
    planned = plan(sequence, LeadSample(timezone="Asia/Kolkata", occasions=occasions), start)
    async with worker_for(time_skipping.client) as task_queue:
        handle = await time_skipping.client.start_workflow(
            NurtureJourney.run, begin, id=workflow_id, task_queue=task_queue
        )
        # Waiting for the result lets the server skip time until the journey ends.
        result = await handle.result()

    _compare(planned, result.steps, sequence)
    sent = {
        t.step_id
        for t in touches(database, lead_id)
        if t.status is TouchStatus.OUTBOX and t.enrollment_id == begin.enrollment_id
    }
    assert sent == {p.step_id for p in planned if p.action == "send"} - _whatsapp_only(sequence)
    tasks = database.run(lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id)).all())
    steps = {step.id: step for step in sequence.steps}
    asked = {
        (steps[p.step_id].task.kind, steps[p.step_id].task.role)  # type: ignore[union-attr]
        for p in planned
        if p.action == "task"
    }
    # A lead with an open task of the same kind for the same role is not given a second one.
    assert {(task.kind, task.role_needed) for task in tasks} == asked


@pytest.mark.parametrize("key", COUNTDOWNS)
async def test_library_countdown_runs_its_plan(key, time_skipping, database, store, worker_for):
    sequence = LIBRARY[key]
    assert sequence.occasion is not None
    set_caps(database, store, per_day=20, per_week=50)
    start = await _start_at_local_eleven(time_skipping)
    day = _occasions(sequence, start)[sequence.occasion]
    lead_id = make_lead(database, store, timezone="Asia/Kolkata", consent=list(Channel))
    workflow_id, begin = enroll_countdown(
        database, lead_id, sequence=sequence, occasion=sequence.occasion,
        month=day.month, day=day.day, year=day.year, enrolled_at=start,
    )  # fmt: skip
    planned = plan(
        sequence, LeadSample(timezone="Asia/Kolkata", occasions={sequence.occasion: day}), start
    )
    async with worker_for(time_skipping.client) as task_queue:
        handle = await time_skipping.client.start_workflow(
            OccasionCountdown.run, begin, id=workflow_id, task_queue=task_queue
        )
        await _skip(time_skipping, _horizon(planned, start))
        view = await handle.query(OccasionCountdown.status)
        with contextlib.suppress(RPCError):  # most journeys have ended by themselves
            await handle.terminate("walk over")

    first_year = [r for r in view.history if r.step_id.startswith(f"{day.year}-")]
    _compare(planned, first_year, sequence, prefix=f"{day.year}-")
    final = [r for r in first_year if r.status == "outbox"][-1]
    assert final.at.astimezone(IST).date() == day  # the greeting lands on the day itself


def test_hand_checked_dates_of_the_plans():
    """The plan's dates against the calendar, worked out by hand for a few steps."""
    start = datetime(2026, 11, 24, 11, 0, tzinfo=IST)
    ring = {
        p.step_id: p for p in plan(LIBRARY["engagement_ring"], LeadSample("Asia/Kolkata"), start)
    }
    assert ring["welcome"].at == start
    assert ring["diamond_grades"].at.date() == date(2026, 11, 26)
    assert ring["whenever_ready"].at.date() == date(2027, 2, 7)  # day 75
    assert ring["proposal_season"].at == datetime(2027, 12, 1, 10, 0, tzinfo=IST)

    anniversary = date(2027, 6, 14)
    countdown = plan(
        LIBRARY["anniversary_countdown"],
        LeadSample("Asia/Kolkata", occasions={Occasion.ANNIVERSARY: anniversary}),
        start,
    )
    sends = [p.at.date() for p in countdown if p.action == "send"]
    assert sends[0] == anniversary - timedelta(days=45) and sends[-1] == anniversary

    diwali = plan(LIBRARY["festive_diwali"], LeadSample("Asia/Kolkata"), start)
    diwali_2027 = festival_in_year(Festival.DIWALI, 2027)
    assert diwali_2027 == date(2027, 10, 29)
    assert diwali[0].at.date() == diwali_2027 - timedelta(days=21)
    assert next_month_day(2, 29, date(2027, 1, 1)) == date(2027, 2, 28)
