"""NurtureJourney: one lead walking through one sequence version, for days or months."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.journey_model import (
        JourneyEvent,
        JourneyInput,
        JourneyResult,
        JourneyView,
        PauseRequest,
        SupersedeRequest,
    )
    from workflows.steps import Rollover, StepRunner, started

__all__ = [
    "JourneyEvent",
    "JourneyInput",
    "JourneyResult",
    "NurtureJourney",
]


# Journeys started before the sequence language (timed sends only) replay the old path.
STEP_INTERPRETER = "step-interpreter"


@workflow.defn
class NurtureJourney:
    """Runs one sequence version for one lead.

    Input: `JourneyInput` (lead id, enrollment id, the sequence as data, enrolled-at). Each
    step is due by its `at` (offsets count from enrollment; calendar and lead-date anchors
    in the lead's time zone); the journey sleeps on durable timers and acts through
    activities: `send_message`, `open_task`, `prepare_enrollment` (+ a child journey).
    Signals: `record_event` (deduplicated by event id; the goal — as narrowed by `goal_when` —
    converts, `exit_on` exits, a reply pauses per `reply_pauses`, `on_event` reactions),
    `pause`, `resume`, `supersede` (a newer run or the new segment's journey takes over).
    Query: `status`.
    Ends: on the goal, on an exit event or `exit` step, when superseded, or after the last
    step; the outcome
    is written to the enrollment row. Continues as new when the SDK suggests it, carrying
    its whole state (including the event ids it has seen).
    """

    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        self._input = started(input)
        self._runner = StepRunner.of(self._input)

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        runner = self._runner
        try:
            if workflow.patched(STEP_INTERPRETER):
                await runner.run_steps()
            else:
                await runner.run_offsets_only()
        except Rollover:
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(self._input.model_copy(update={"state": runner.state}))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return await runner.finish()

    @workflow.signal
    async def record_event(self, event: JourneyEvent) -> None:
        await self._runner.on_event(event)

    @workflow.signal
    def pause(self, request: PauseRequest) -> None:
        self._runner.state.paused = True

    @workflow.signal
    def resume(self) -> None:
        self._runner.state.paused = False

    @workflow.signal
    def supersede(self, request: SupersedeRequest) -> None:
        self._runner.supersede(request.reason)

    @workflow.query
    def status(self) -> JourneyView:
        return self._runner.view()
