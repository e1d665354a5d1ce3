"""The Temporal Schedules Facet keeps: the nightly refit + rescore, the going-cold sweep, and
each branch's weekly report to its owners (Monday 08:00 store time).

`ensure_schedules` is called by the worker at start (`python worker.py`); it creates each
schedule once and leaves an existing one as it is, so any number of workers may call it.
"""

from __future__ import annotations

import logging
import uuid

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from workflows.qualification import ColdLeadSweep, NightlyInput, NightlyQualification
from workflows.weekly_report import WeeklyReport, WeeklyReportInput

log = logging.getLogger(__name__)

NIGHTLY = "nightly-qualification"
COLD_SWEEP = "cold-sweep"


def schedules(task_queue: str, prefix: str = "facet") -> dict[str, Schedule]:
    """The schedules by id; `prefix` keeps a test's schedules apart from the real ones."""
    skip = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP)
    return {
        f"{prefix}-{NIGHTLY}": Schedule(
            action=ScheduleActionStartWorkflow(
                NightlyQualification.run,
                NightlyInput(),
                id=f"{prefix}-{NIGHTLY}",
                task_queue=task_queue,
            ),
            spec=ScheduleSpec(cron_expressions=["30 2 * * *"]),  # 02:30 UTC
            policy=skip,
        ),
        f"{prefix}-{COLD_SWEEP}": Schedule(
            action=ScheduleActionStartWorkflow(
                ColdLeadSweep.run, id=f"{prefix}-{COLD_SWEEP}", task_queue=task_queue
            ),
            spec=ScheduleSpec(cron_expressions=["15 * * * *"]),  # hourly
            policy=skip,
        ),
    }


async def ensure_schedules(client: Client, task_queue: str, prefix: str = "facet") -> list[str]:
    """Create the schedules that do not exist yet; returns the ids created now."""
    created = []
    for schedule_id, schedule in schedules(task_queue, prefix).items():
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            continue
        created.append(schedule_id)
        log.info("created schedule %s", schedule_id)
    return created


# --- the owner's weekly email, one schedule per branch ------------------------------------------

WEEKLY_REPORT = "weekly-report"


def weekly_report_schedule(
    store_id: uuid.UUID, timezone: str, task_queue: str, prefix: str = "facet"
) -> Schedule:
    """Monday 08:00 in the branch's time zone; a run still going when the next is due is left
    to finish (the next one is skipped)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WeeklyReport.run,
            WeeklyReportInput(store_id=store_id),
            id=f"{prefix}-{WEEKLY_REPORT}:{store_id}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=["0 8 * * 1"], time_zone_name=timezone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_weekly_report(
    client: Client, task_queue: str, store_id: uuid.UUID, timezone: str, prefix: str = "facet"
) -> str:
    """Create the branch's weekly-report schedule, or bring an existing one up to date (a
    branch that moved time zone); safe to call any number of times. Returns its id."""
    schedule_id = f"{prefix}-{WEEKLY_REPORT}:{store_id}"
    wanted = weekly_report_schedule(store_id, timezone, task_queue, prefix)
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("created schedule %s", schedule_id)
    except ScheduleAlreadyRunningError:

        def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(schedule_id).update(update)
    return schedule_id


async def ensure_weekly_reports(
    client: Client, task_queue: str, branches: list[tuple[uuid.UUID, str]], prefix: str = "facet"
) -> list[str]:
    """`ensure_weekly_report` for every (branch id, time zone)."""
    return [
        await ensure_weekly_report(client, task_queue, store_id, timezone, prefix)
        for store_id, timezone in branches
    ]
