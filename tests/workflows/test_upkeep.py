"""The scheduled upkeep on the dev server: the going-cold sweep opens one re-engage task for
the owner of each lead that has gone quiet in an active journey (and no second one on the
next sweep); `ensure_schedules` creates the schedules once."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from sqlalchemy import select

from core.vocabulary import TaskStatus
from db.models import Lead, Staff, Task
from db.types import utcnow
from sequences.vocabulary import StaffRole
from tests.factories import add_event, enroll, make_lead
from workflows.qualification import ColdLeadSweep, NightlyQualification
from workflows.qualification_model import ColdSweepInput
from workflows.schedules import COLD_SWEEP, NIGHTLY, ensure_schedules


def _lead(database, store, *, engaged_days_ago: float, in_journey: bool, owner=None):
    lead_id = make_lead(database, store)
    add_event(
        database, store, lead_id, "product_view", at=utcnow() - timedelta(days=engaged_days_ago)
    )
    if in_journey:
        enroll(database, lead_id)

    def own(session) -> None:
        session.get_one(Lead, lead_id).owner_id = owner

    database.run(own)
    return lead_id


def _tasks(database, lead_id) -> list[Task]:
    return list(
        database.run(lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id)).all())
    )


async def test_a_lead_gone_cold_gets_one_re_engage_task_for_its_owner(
    dev_server, worker_for, database, store
):
    owner = uuid.uuid4()  # a second associate, so continuity, not chance, picks the owner
    database.run(
        lambda s: s.add(Staff(id=owner, store_id=store.id, name="Dev", role=StaffRole.ASSOCIATE))
    )
    cold = _lead(database, store, engaged_days_ago=30, in_journey=True, owner=owner)
    recent = _lead(database, store, engaged_days_ago=1, in_journey=True, owner=owner)
    no_journey = _lead(database, store, engaged_days_ago=30, in_journey=False, owner=owner)
    client = dev_server.client

    async with worker_for(client) as task_queue:
        sweeps = [
            await client.execute_workflow(
                ColdLeadSweep.run,
                ColdSweepInput(store_id=store.id),
                id=f"cold-sweep-test-{uuid.uuid4()}",
                task_queue=task_queue,
            )
            for _ in range(2)
        ]

    [task] = _tasks(database, cold)
    assert task.kind == "re_engage" and task.role_needed is StaffRole.ASSOCIATE
    assert task.assignee_id == owner and task.status is TaskStatus.OPEN
    assert "No engagement for 30 days" in task.reason
    assert sweeps[0].tasks == sweeps[1].tasks == [task.id]
    assert _tasks(database, recent) == [] and _tasks(database, no_journey) == []


async def test_ensure_schedules_creates_each_schedule_once(dev_server):
    client = dev_server.client
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    wanted = {f"{prefix}-{NIGHTLY}", f"{prefix}-{COLD_SWEEP}"}
    try:
        assert set(await ensure_schedules(client, "facet-test-schedules", prefix)) == wanted
        assert await ensure_schedules(client, "facet-test-schedules", prefix) == []

        nightly = await client.get_schedule_handle(f"{prefix}-{NIGHTLY}").describe()
        sweep = await client.get_schedule_handle(f"{prefix}-{COLD_SWEEP}").describe()
        assert nightly.schedule.action.workflow == NightlyQualification.__name__
        assert sweep.schedule.action.workflow == ColdLeadSweep.__name__
        [calendar] = nightly.schedule.spec.calendars  # the server stores the cron as a calendar
        assert (calendar.hour[0].start, calendar.minute[0].start) == (2, 30)

        deadline = time.monotonic() + 15  # the schedule list is eventually consistent
        listed: set[str] = set()
        while time.monotonic() < deadline and listed != wanted:
            listed = {s.id async for s in await client.list_schedules() if s.id in wanted}
            await asyncio.sleep(0.2)
        assert listed == wanted
    finally:
        for schedule_id in wanted:
            await client.get_schedule_handle(schedule_id).delete()
