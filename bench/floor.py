"""Bare-SDK workflows the benchmark compares Facet against: the floor under its own latency.

This module is loaded by the workflow sandbox, so it has no import-time side effects: it only
defines classes and constants.
"""

from __future__ import annotations

import time
from datetime import timedelta

from temporalio import activity, workflow

FLOOR_ACTIVITY = "bench_floor_started"


class FloorActivities:
    """The floor's one activity: note when it started, per workflow id, and return that time."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    @activity.defn(name=FLOOR_ACTIVITY)
    async def started_at(self) -> float:
        now = time.time()
        self.started[activity.info().workflow_id or ""] = now
        return now


@workflow.defn
class FloorWorkflow:
    """Start → one activity → done: the least a journey's first send can cost in Temporal."""

    @workflow.run
    async def run(self) -> float:
        started: float = await workflow.execute_activity(
            FLOOR_ACTIVITY,
            result_type=float,
            start_to_close_timeout=timedelta(seconds=30),
        )
        return started


@workflow.defn
class SignalWaitWorkflow:
    """Waits for one signal, then ends: the bare-SDK shape of "capture one lead"."""

    def __init__(self) -> None:
        self._poked = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._poked)

    @workflow.signal
    def poke(self, note: str) -> None:
        self._poked = True


FLOOR_STEP = "bench_floor_step"


@activity.defn(name=FLOOR_STEP)
async def floor_step(done: int) -> int:
    """A step's activity with nothing to do: no database, no provider, no template."""
    return done + 1


@workflow.defn
class SeasonFloorTask:
    """A task step, bare: a child workflow that runs one activity (Facet's EscalationTask also
    routes, notifies and waits for a person)."""

    @workflow.run
    async def run(self, done: int) -> int:
        result: int = await workflow.execute_activity(
            FLOOR_STEP, done, result_type=int, start_to_close_timeout=timedelta(seconds=60)
        )
        return result


@workflow.defn
class SeasonFloorJourney:
    """One lead's journey with the same steps as a real one, bare: before each step a timer
    (its length costs nothing), then a send as one activity, a task or an enrolment as one
    child workflow. The least the season simulation's journeys can cost in Temporal."""

    @workflow.run
    async def run(self, kinds: list[str], timer_s: float) -> int:
        done = 0
        for number, kind in enumerate(kinds):
            await workflow.sleep(timedelta(seconds=timer_s))
            if kind == "send":
                done = await workflow.execute_activity(
                    FLOOR_STEP, done, result_type=int, start_to_close_timeout=timedelta(seconds=60)
                )
            else:
                done = await workflow.execute_child_workflow(
                    SeasonFloorTask.run, done, id=f"{workflow.info().workflow_id}-{number}"
                )
        return done
