"""OccasionCountdown: a yearly countdown that runs for years, one message per step per year."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import yaml

from sequences.model import Sequence
from sequences.vocabulary import Occasion
from tests.factories import enroll_countdown, make_lead, touches
from tests.workflows.replay import keep_history
from workflows.journey_model import ChangeDate
from workflows.occasion import OccasionCountdown

COUNTDOWN = Sequence.model_validate(
    yaml.safe_load(
        """
key: anniversary_test
name: Anniversary
occasion: anniversary
steps:
  - id: t45
    at: {before: {days: 45}, of: anniversary}
    send: {template: engagement/welcome}
  - id: t30
    at: {before: {days: 30}, of: anniversary}
    send: {template: engagement/four_cs}
  - id: t14
    at: {before: {days: 14}, of: anniversary}
    send: {template: engagement/viewing_invite}
  - id: t0
    at: {before: {days: 0}, of: anniversary, time: "11:00"}
    send: {template: engagement/welcome}
"""
    )
)
IST = ZoneInfo("Asia/Kolkata")


async def test_countdown_runs_three_years_without_a_duplicate(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)
    now = await time_skipping.get_current_time()
    year = now.year + 1  # a date well ahead: every step of the first year is still to come
    workflow_id, start = enroll_countdown(
        database, lead_id, sequence=COUNTDOWN, occasion=Occasion.ANNIVERSARY,
        month=6, day=14, year=year, enrolled_at=now,
    )  # fmt: skip
    async with worker_for(time_skipping.client) as task_queue:
        handle = await time_skipping.client.start_workflow(
            OccasionCountdown.run, start, id=workflow_id, task_queue=task_queue
        )
        # Past the third anniversary (June), before the fourth countdown starts (T−45).
        after_third = now.replace(year=year + 2, month=7, day=1)
        await time_skipping.sleep(after_third - now)
        view = await handle.query(OccasionCountdown.status)
        description = await handle.describe()
        await keep_history(handle, "countdown_one_year")
        await handle.terminate("test over")

    sent = touches(database, lead_id)
    keys = Counter(t.idempotency_key for t in sent)
    assert len(sent) == 12 and max(keys.values()) == 1
    years = sorted({t.step_id.split("-")[0] for t in sent})
    assert years == [str(year), str(year + 1), str(year + 2)]
    final_days = sorted(
        t.created_at.astimezone(IST).date() for t in sent if t.step_id.endswith("-t0")
    )
    assert len(final_days) == 3
    assert description.run_id != handle.first_execution_run_id  # continued as new
    assert view.occasion_date is not None and view.occasion_date.year == year + 3
    assert view.current_step == "t45"


async def test_countdown_to_29_february_falls_on_the_28th_in_other_years(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store, timezone="Asia/Kolkata")
    now = await time_skipping.get_current_time()
    year = next(y for y in range(now.year + 1, now.year + 9) if y % 4 != 0)
    workflow_id, start = enroll_countdown(
        database, lead_id, sequence=COUNTDOWN, occasion=Occasion.ANNIVERSARY,
        month=2, day=29, year=year, enrolled_at=now,
    )  # fmt: skip
    async with worker_for(time_skipping.client) as task_queue:
        handle = await time_skipping.client.start_workflow(
            OccasionCountdown.run, start, id=workflow_id, task_queue=task_queue
        )
        march = (await time_skipping.get_current_time()).replace(month=3, day=2, year=year)
        await time_skipping.sleep(march - await time_skipping.get_current_time())
        view = await handle.query(OccasionCountdown.status)
        await handle.terminate("test over")

    final = [record for record in view.history if record.step_id == f"{year}-t0"]
    assert [
        (r.at.astimezone(IST).date().isoformat(), r.at.astimezone(IST).hour) for r in final
    ] == [(f"{year}-02-28", 11)]


async def test_changing_the_date_recounts_to_the_new_date(
    time_skipping, database, store, worker_for
):
    lead_id = make_lead(database, store)
    now = await time_skipping.get_current_time()
    year = now.year + 1
    workflow_id, start = enroll_countdown(
        database, lead_id, sequence=COUNTDOWN, occasion=Occasion.ANNIVERSARY,
        month=6, day=14, year=year, enrolled_at=now,
    )  # fmt: skip
    async with worker_for(time_skipping.client) as task_queue:
        handle = await time_skipping.client.start_workflow(
            OccasionCountdown.run, start, id=workflow_id, task_queue=task_queue
        )
        await handle.signal(OccasionCountdown.change_date, ChangeDate(month=9, day=1))
        await time_skipping.sleep(timedelta(days=1))
        view = await handle.query(OccasionCountdown.status)
        await handle.terminate("test over")

    assert view.occasion_date is not None
    assert (view.occasion_date.month, view.occasion_date.day) == (9, 1)
    assert view.current_step == "t45"
