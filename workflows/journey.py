"""NurtureJourney: one lead walking through one sequence version, for days or months."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.payloads import (
        ABANDON_SEND,
        FINISH_ENROLLMENT,
        SEND_MESSAGE,
        FinishEnrollment,
        SendRequest,
        SendResult,
    )
    from sequences.model import Sequence, Step
    from sequences.vocabulary import EventKind, JourneyStatus


def journey_workflow_id(lead_id: uuid.UUID, sequence_key: str) -> str:
    """The business key: one journey per lead per sequence, however often a request retries."""
    return f"journey:{lead_id}:{sequence_key}"


class JourneyEvent(BaseModel):
    """Something that happened to the lead; `event_id` is the database event's id."""

    event_id: uuid.UUID
    kind: EventKind
    occurred_at: datetime
    revenue_minor: int | None = None
    currency: str | None = None


class StepRecord(BaseModel):
    step_id: str
    at: datetime
    status: str
    channel: str | None = None
    reason: str | None = None


class JourneyState(BaseModel):
    """Everything a journey knows; carried whole through continue-as-new."""

    next_step: int = 0
    status: JourneyStatus = JourneyStatus.ACTIVE
    outcome: str | None = None
    revenue_minor: int | None = None
    currency: str | None = None
    paused: bool = False
    seen_event_ids: list[uuid.UUID] = Field(default_factory=list)
    history: list[StepRecord] = Field(default_factory=list)


class JourneyInput(BaseModel):
    lead_id: uuid.UUID
    enrollment_id: uuid.UUID
    sequence_version: int
    sequence: Sequence
    enrolled_at: datetime
    state: JourneyState | None = None  # set only when continuing as new


class JourneyResult(BaseModel):
    status: JourneyStatus
    outcome: str | None
    revenue_minor: int | None
    steps: list[StepRecord]


class JourneyView(BaseModel):
    """What the `status` query answers: where the journey is and what it waits for."""

    sequence_key: str
    sequence_version: int
    status: JourneyStatus
    paused: bool
    current_step: str | None
    next_due_at: datetime | None
    history: list[StepRecord]


class PauseRequest(BaseModel):
    reason: str


# A message is worth sending only while it is timely: bounded retries, then give up.
SEND_TIMEOUT = timedelta(seconds=30)
SEND_GIVE_UP_AFTER = timedelta(hours=6)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=25,
    non_retryable_error_types=["UnknownLead", "BrokenTouch", "UnknownTouch"],
)
BOOKKEEPING_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))


@workflow.defn
class NurtureJourney:
    """Runs one sequence version for one lead.

    Input: `JourneyInput` (lead id, the sequence as data, enrolled-at). Each step is due at
    enrolled-at + its offset; the journey sleeps on a durable timer until then and sends
    through the `send_message` activity.
    Signals: `record_event` (deduplicated by event id; the sequence's goal ends the journey as
    converted, an `exit_on` event ends it as exited), `pause`, `resume`.
    Query: `status`.
    Ends: on the goal, on an exit event, or after the last step (completed). The outcome is
    written back to the enrollment row before the workflow returns.
    """

    @workflow.init
    def __init__(self, input: JourneyInput) -> None:
        self._input = input
        self._state = input.state or JourneyState()

    @workflow.run
    async def run(self, input: JourneyInput) -> JourneyResult:
        steps = input.sequence.steps
        while self._state.next_step < len(steps) and self._is_active():
            step = steps[self._state.next_step]
            if not await self._wait_until_due(step):
                break
            result = await self._send(step)
            self._state.history.append(
                StepRecord(
                    step_id=step.id,
                    at=workflow.now(),
                    status=result.status,
                    channel=result.channel,
                    reason=result.reason,
                )
            )
            self._state.next_step += 1
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(input.model_copy(update={"state": self._state}))

        if self._state.status is JourneyStatus.ACTIVE:
            self._state.status = JourneyStatus.COMPLETED
            self._state.outcome = "completed"
        await workflow.execute_activity(
            FINISH_ENROLLMENT,
            FinishEnrollment(
                workflow_id=workflow.info().workflow_id,
                status=self._state.status,
                outcome=self._state.outcome,
                revenue_minor=self._state.revenue_minor,
                currency=self._state.currency,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=BOOKKEEPING_RETRY,
        )
        return JourneyResult(
            status=self._state.status,
            outcome=self._state.outcome,
            revenue_minor=self._state.revenue_minor,
            steps=self._state.history,
        )

    @workflow.signal
    def record_event(self, event: JourneyEvent) -> None:
        if event.event_id in self._state.seen_event_ids or not self._is_active():
            return
        self._state.seen_event_ids.append(event.event_id)
        sequence = self._input.sequence
        if event.kind == sequence.goal:
            self._state.status = JourneyStatus.CONVERTED
            self._state.outcome = event.kind.value
            self._state.revenue_minor = event.revenue_minor
            self._state.currency = event.currency
        elif event.kind in sequence.exit_on:
            self._state.status = JourneyStatus.EXITED
            self._state.outcome = event.kind.value

    @workflow.signal
    def pause(self, request: PauseRequest) -> None:
        self._state.paused = True

    @workflow.signal
    def resume(self) -> None:
        self._state.paused = False

    @workflow.query
    def status(self) -> JourneyView:
        steps = self._input.sequence.steps
        upcoming = steps[self._state.next_step] if self._state.next_step < len(steps) else None
        active = self._is_active() and upcoming is not None
        return JourneyView(
            sequence_key=self._input.sequence.key,
            sequence_version=self._input.sequence_version,
            status=self._state.status,
            paused=self._state.paused,
            current_step=upcoming.id if active and upcoming else None,
            next_due_at=self._due(upcoming) if active and upcoming else None,
            history=self._state.history,
        )

    def _is_active(self) -> bool:
        return self._state.status is JourneyStatus.ACTIVE

    def _due(self, step: Step) -> datetime:
        return self._input.enrolled_at + step.at.as_timedelta()

    async def _wait_until_due(self, step: Step) -> bool:
        """Sleep until the step is due and the journey is not paused; False if it ended."""
        remaining = self._due(step) - workflow.now()
        if remaining > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: not self._is_active(), timeout=remaining)
        await workflow.wait_condition(lambda: not self._state.paused or not self._is_active())
        return self._is_active()

    async def _send(self, step: Step) -> SendResult:
        """Send the step; held for quiet hours, wait on a durable timer and ask again.

        The same request (same idempotency key) is sent after the wait, so the step is sent
        at most once. A purchase or opt-out during the wait ends the journey instead.
        """
        assert step.send is not None
        request = SendRequest(
            workflow_id=workflow.info().workflow_id,
            step_id=step.id,
            lead_id=self._input.lead_id,
            enrollment_id=self._input.enrollment_id,
            channel=step.send.channel,
            template=step.send.template,
            purpose=step.send.purpose,
        )
        while True:
            try:
                result: SendResult = await workflow.execute_activity(
                    SEND_MESSAGE,
                    request,
                    result_type=SendResult,
                    start_to_close_timeout=SEND_TIMEOUT,
                    schedule_to_close_timeout=SEND_GIVE_UP_AFTER,
                    retry_policy=SEND_RETRY,
                )
            except ActivityError:
                # Retries ran out (the provider stayed down): the step is recorded as failed.
                abandoned: SendResult = await workflow.execute_activity(
                    ABANDON_SEND,
                    request,
                    result_type=SendResult,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=BOOKKEEPING_RETRY,
                )
                return abandoned
            if result.deferred_until is None:
                return result
            wait = result.deferred_until - workflow.now()
            if wait > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: not self._is_active(), timeout=wait)
            if not self._is_active():
                return result
