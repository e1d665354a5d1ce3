"""The season simulation's clock (bench/season.py `LeakedLocks`) on the real time-skipping
server: a child that closes after its parent has closed leaves the server's clock locked for
good (a test-server bug; a real server drops the result). The bench must give exactly that
lock back — and none for a child whose parent took its result — or `make bench` stalls."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.season import LeakedLocks

# Only a guard against a hang: a clock that moves skips the day at once.
CLOCK_GUARD_S = 120


@workflow.defn(sandboxed=False)
class Errand:
    """A child that takes an hour."""

    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(hours=1))
        return "done"


@workflow.defn(sandboxed=False)
class Starter:
    """Starts an abandoned Errand (as Facet starts a task); waits for it, or ends at once."""

    @workflow.run
    async def run(self, child_id: str, wait: bool) -> None:
        child = await workflow.start_child_workflow(
            Errand.run, id=child_id, parent_close_policy=workflow.ParentClosePolicy.ABANDON
        )
        if wait:
            await child


async def _errand(env: WorkflowEnvironment, *, parent_waits: bool) -> None:
    """A Starter and its Errand: the Errand closes an hour later, after the Starter has
    closed, or (when it waits) before it."""
    child_id = f"errand-{uuid.uuid4()}"
    parent = await env.client.start_workflow(
        Starter.run, args=[child_id, parent_waits], id=f"starter-{uuid.uuid4()}", task_queue="q"
    )
    await _result(parent)
    # A handle got by id, unlike one a start returned, does not unlock time skipping while it
    # waits: without this, the Errand's hour passed only if the server skipped it in the
    # moment between the Starter's result and the SDK locking the clock again (a flake).
    await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
    try:
        assert await _result(env.client.get_workflow_handle(child_id)) == "done"
    finally:
        await env.client.test_service.lock_time_skipping(LockTimeSkippingRequest())


async def _result(handle: WorkflowHandle[Any, Any]) -> Any:
    """The workflow's result. The test server's long poll for it comes back empty ("No
    completion event found") when the workflow has not closed by the poll's deadline: ask
    again, as a client would, for as long as the guard allows (a hang still fails)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + CLOCK_GUARD_S
    while True:
        try:
            return await handle.result()
        except RuntimeError:
            if loop.time() > give_up:
                raise


async def _a_day_passes(env: WorkflowEnvironment) -> bool:
    before = await env.get_current_time()
    await asyncio.wait_for(env.sleep(timedelta(days=1)), timeout=CLOCK_GUARD_S)
    return await env.get_current_time() - before >= timedelta(days=1)


@pytest.mark.parametrize(
    ("parent_waits", "leaked"),
    [
        pytest.param(False, 1, id="child_closed_after_its_parent_has_its_lock_given_back"),
        pytest.param(True, 0, id="child_whose_parent_took_its_result_gives_nothing_back"),
    ],
)
async def test_the_clock_moves_on_after_a_child_closes(time_skipping, parent_waits, leaked):
    env = time_skipping
    locks = LeakedLocks(env.client, frozenset({"Errand"}))
    async with Worker(env.client, task_queue="q", workflows=[Starter, Errand]):
        await _errand(env, parent_waits=parent_waits)

        # Shown a second after the child closed (as the bench's next look would be).
        given = await locks.give_back(await env.get_current_time() + timedelta(seconds=2))

        assert given == leaked
        assert await _a_day_passes(env)
        assert await locks.give_back(await env.get_current_time()) == 0  # never twice
