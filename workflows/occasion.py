"""OccasionCountdown: a yearly countdown to one of a lead's dates, running for years."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core.vocabulary import JourneyStatus
    from sequences.timing import local_date, next_month_day, occasion_in_year
    from workflows.journey_model import (
        ChangeDate,
        CountdownInput,
        JourneyEvent,
        JourneyResult,
        JourneyState,
        JourneyView,
    )
    from workflows.steps import Rollover, StepRunner, started

__all__ = ["CountdownInput", "OccasionCountdown"]

# The status query shows the last few years' steps; older ones live in the touch table.
HISTORY_KEPT_ACROSS_YEARS = 24


@workflow.defn
class OccasionCountdown:
    """Counts down to a lead's anniversary (or birthday, …) every year.

    Input: `CountdownInput` (lead, the countdown sequence as data, the month and day, and
    the year being counted to). Steps are dated `before`/`after` the occasion in the lead's
    time zone; 29 February is kept on the 28th in other years. Each year's messages carry
    the year in their step id, so nothing is sent twice however the workflow is retried.
    After the last step of a year it continues as new for the next year.
    Signals: `record_event` (a purchase ends this year's countdown; an opt-out ends it for
    good), `change_date` (recounts from the new date).
    Query: `status`.
    """

    @workflow.init
    def __init__(self, input: CountdownInput) -> None:
        self._input = input = started(input)
        self._runner = StepRunner.of(
            input,
            step_prefix=f"{input.year}-",
            occasion=(input.occasion, occasion_in_year(input.month, input.day, input.year)),
            one_cycle_of_many=True,
        )
        self._new_date: ChangeDate | None = None

    @workflow.run
    async def run(self, input: CountdownInput) -> JourneyResult:
        input = self._input  # with its start time filled in
        runner = self._runner
        try:
            await runner.run_steps()
        except Rollover:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._new_date is None:
                workflow.continue_as_new(input.model_copy(update={"state": runner.state}))
            workflow.continue_as_new(self._recount(input, self._new_date))
        await workflow.wait_condition(workflow.all_handlers_finished)
        if runner.state.status is JourneyStatus.ACTIVE:
            # This year is done: on to next year's occasion, with a fresh step history.
            next_year = input.year + 1
            workflow.continue_as_new(
                input.model_copy(update={"year": next_year, "state": self._carried_state()})
            )
        return await runner.finish()

    def _carried_state(self) -> JourneyState:
        """What a new year keeps: events seen (for dedupe), any pause, recent step records."""
        state = self._runner.state
        return JourneyState(
            seen_event_ids=state.seen_event_ids,
            recent_events=state.recent_events,
            paused=state.paused,
            paused_until=state.paused_until,
            history=state.history[-HISTORY_KEPT_ACROSS_YEARS:],
        )

    def _recount(self, input: CountdownInput, new: ChangeDate) -> CountdownInput:
        """Start again from the new date's next occurrence (sent steps stay sent)."""
        facts = self._runner.facts
        today = local_date(workflow.now(), facts.timezone if facts else "UTC")
        upcoming = next_month_day(new.month, new.day, today)
        return input.model_copy(
            update={
                "month": new.month,
                "day": new.day,
                "year": upcoming.year,
                "state": self._carried_state(),
            }
        )

    @workflow.signal
    async def record_event(self, event: JourneyEvent) -> None:
        await self._runner.on_event(event)

    @workflow.signal
    def change_date(self, new: ChangeDate) -> None:
        if (new.month, new.day) == (self._input.month, self._input.day):
            return  # the date it already counts to (e.g. sent with the start)
        self._new_date = new
        self._runner.restart_requested = True

    @workflow.query
    def status(self) -> JourneyView:
        return self._runner.view()
