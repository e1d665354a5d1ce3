"""Intake first never starves workflow tasks: a worker held to its activity floor (a CPU
target no machine is under) still runs other workflows' tasks while one workflow task waits
on a slow local activity, as a journey's first task waits on the lead's facts."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import worker

RELEASE = threading.Event()


@activity.defn
def held_local_activity() -> None:
    """Stands for a slow lead_facts read: runs until the test lets it go."""
    RELEASE.wait(timeout=60)


@workflow.defn
class HeldOpen:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_local_activity(
            held_local_activity, start_to_close_timeout=timedelta(seconds=90)
        )


@workflow.defn
class Quick:
    @workflow.run
    async def run(self) -> str:
        return "done"


async def test_a_workflow_task_waiting_on_a_local_activity_holds_up_no_other(dev_server):
    client = dev_server.client
    task_queue = f"facet-slots-{uuid.uuid4().hex[:8]}"
    busy = worker.worker_tuner(target_cpu=1e-9)  # above target: activities at their floor
    RELEASE.clear()
    with ThreadPoolExecutor(max_workers=worker.EXECUTOR_THREADS) as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[HeldOpen, Quick],
            activities=[held_local_activity],
            activity_executor=executor,
            workflow_runner=UnsandboxedWorkflowRunner(),
            tuner=busy,
        ):
            try:
                held = [
                    await client.start_workflow(
                        HeldOpen.run, id=f"held-{task_queue}-{n}", task_queue=task_queue
                    )
                    for n in range(3)
                ]
                await asyncio.sleep(1)  # their first tasks are open, waiting on the activity
                quick = [
                    await client.start_workflow(
                        Quick.run, id=f"quick-{task_queue}-{n}", task_queue=task_queue
                    )
                    for n in range(3)
                ]
                results = await asyncio.wait_for(
                    asyncio.gather(*(handle.result() for handle in quick)), timeout=10
                )
                assert results == ["done"] * 3
            finally:
                RELEASE.set()
            for handle in held:
                await asyncio.wait_for(handle.result(), timeout=30)
