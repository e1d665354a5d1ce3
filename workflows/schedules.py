"""The Temporal Schedules Facet keeps: the nightly refit + rescore, and the going-cold sweep.

`ensure_schedules` is called by the worker at start (`python worker.py`); it creates each
schedule once and leaves an existing one as it is, so any number of workers may call it.
"""

from __future__ import annotations

import logging

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from workflows.qualification import ColdLeadSweep, NightlyInput, NightlyQualification

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
