"""The Temporal Schedules Facet keeps: the nightly refit + rescore, the going-cold sweep,
each branch's weekly report to its owners (Monday 08:00 store time), and, where Valigara is
configured, the pull of its catalogue.

`ensure_schedules` is called by the worker at start (`python worker.py`); it creates each
schedule once and leaves an existing one as it is, so any number of workers may call it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from workflows.qualification import ColdLeadSweep, NightlyQualification
from workflows.qualification_model import NightlyInput
from workflows.valigara import CataloguePullInput, ValigaraCataloguePull
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


async def _create_or_update(client: Client, schedule_id: str, wanted: Schedule) -> None:
    """Create the schedule, or make an existing one `wanted` (safe to call again)."""
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("created schedule %s", schedule_id)
    except ScheduleAlreadyRunningError:

        def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(schedule_id).update(update)


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
    await _create_or_update(client, schedule_id, wanted)
    return schedule_id


async def ensure_weekly_reports(
    client: Client, task_queue: str, branches: list[tuple[uuid.UUID, str]], prefix: str = "facet"
) -> list[str]:
    """`ensure_weekly_report` for every (branch id, time zone)."""
    return [
        await ensure_weekly_report(client, task_queue, store_id, timezone, prefix)
        for store_id, timezone in branches
    ]


# --- Valigara's catalogue, pulled into its branch's -------------------------------------------

VALIGARA_CATALOGUE = "valigara-catalogue"


def valigara_catalogue_schedule(
    store_id: uuid.UUID, every: timedelta, task_queue: str, prefix: str = "facet"
) -> Schedule:
    """Every `every`; a pull still going when the next is due is left to finish."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ValigaraCataloguePull.run,
            CataloguePullInput(store_id=store_id),
            id=f"{prefix}-{VALIGARA_CATALOGUE}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_valigara_catalogue(
    client: Client,
    task_queue: str,
    store_id: uuid.UUID | None,
    every: timedelta,
    prefix: str = "facet",
) -> str | None:
    """With a branch: create the pull's schedule, or bring it up to date (another branch or
    interval); returns its id. None (Valigara not configured): delete the schedule if an
    earlier configuration left one, so nothing pulls with a key that is gone."""
    schedule_id = f"{prefix}-{VALIGARA_CATALOGUE}"
    if store_id is None:
        try:
            await client.get_schedule_handle(schedule_id).delete()
            log.info("deleted schedule %s: Valigara is not configured", schedule_id)
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
        return None
    wanted = valigara_catalogue_schedule(store_id, every, task_queue, prefix)
    await _create_or_update(client, schedule_id, wanted)
    return schedule_id
