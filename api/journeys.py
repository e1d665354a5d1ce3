"""Typed calls into journey workflows: start by signal-with-start, deliver events, query."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.journey import NurtureJourney
from workflows.journey_model import (
    ChangeDate,
    CountdownInput,
    JourneyEvent,
    JourneyInput,
    JourneyView,
)
from workflows.occasion import OccasionCountdown

log = logging.getLogger(__name__)

QUERY_TIMEOUT = timedelta(seconds=3)


async def enroll(
    client: Client,
    *,
    task_queue: str,
    workflow_id: str,
    start: JourneyInput,
    event: JourneyEvent | None,
) -> bool:
    """Start the journey (with `event`), or signal it if it runs. False if it already ended.

    The workflow id is the business key, so a retried request lands in the same journey.
    A journey that has ended is not started again for the same sequence (REJECT_DUPLICATE):
    a lead who bought should not get the welcome a second time.
    """
    try:
        await client.start_workflow(
            NurtureJourney.run,
            start,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            start_signal="record_event" if event else None,
            start_signal_args=[event] if event else [],
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_countdown(
    client: Client, *, task_queue: str, workflow_id: str, start: CountdownInput
) -> bool:
    """Start the yearly countdown, or move a running one to the (possibly new) date."""
    try:
        await client.start_workflow(
            OccasionCountdown.run,
            start,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            start_signal="change_date",
            start_signal_args=[ChangeDate(month=start.month, day=start.day)],
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def deliver(client: Client, workflow_ids: Iterable[str], event: JourneyEvent) -> list[str]:
    """Signal `event` to each journey; returns the ids that were running to receive it."""
    delivered = []
    for workflow_id in workflow_ids:
        handle: WorkflowHandle[NurtureJourney, object] = client.get_workflow_handle(workflow_id)
        try:
            await handle.signal(NurtureJourney.record_event, event)
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            log.info("journey %s has ended; event %s not delivered", workflow_id, event.event_id)
            continue
        delivered.append(workflow_id)
    return delivered


async def view(client: Client, workflow_id: str) -> JourneyView | None:
    """The journey's own account of where it is; None if it has ended or cannot answer."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await asyncio.wait_for(
            handle.query(NurtureJourney.status, rpc_timeout=QUERY_TIMEOUT),
            timeout=QUERY_TIMEOUT.total_seconds() + 1,
        )
    except (RPCError, TimeoutError) as error:
        log.info("journey %s did not answer its status query: %s", workflow_id, error)
        return None
