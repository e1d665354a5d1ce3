"""The step interpreter NurtureJourney and OccasionCountdown share.

It walks a sequence's steps for one lead: computes when each is due (in the lead's time
zone), sleeps on a durable timer until then, honours pauses, evaluates `when`, runs the
action through activities, and waits for events with a timeout. Events arrive through
`on_event`, which the workflow's `record_event` signal calls.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.enroll import enroll_in_sequence
from workflows.escalation import open_escalation
from workflows.escalation_model import OpenEscalation

with workflow.unsafe.imports_passed_through():
    from activities.payloads import (
        ABANDON_SEND,
        FINISH_ENROLLMENT,
        LEAD_FACTS,
        SEND_MESSAGE,
        Failure,
        FinishEnrollment,
        LeadFacts,
        LeadFactsRequest,
        SendRequest,
        SendResult,
    )
    from core.vocabulary import JourneyStatus
    from sequences.model import Offset, Sequence, Step, TaskAction
    from sequences.timing import MAX_LATENESS, due_at
    from sequences.vocabulary import EventKind, Occasion, Priority, StaffRole
    from workflows import policies
    from workflows.journey_model import (
        RECENT_EVENTS_KEPT,
        SEEN_EVENT_IDS_KEPT,
        CountdownInput,
        JourneyEvent,
        JourneyInput,
        JourneyResult,
        JourneyState,
        JourneyView,
        ReceivedEvent,
        StepRecord,
    )


# Patch id: the lead's facts come from a local activity (see StepRunner.load_facts).
LOCAL_FACTS = "local-lead-facts"
# Patch id: a journey whose lead is gone ends, once, with the reason (see LeadGone).
LEAD_GONE = "lead-gone-ends-journey"
LEAD_DELETED = "lead_deleted"


T = TypeVar("T")


class Rollover(Exception):
    """Raised at a safe point to continue as new: history is long, or a date changed."""


class LeadGone(Exception):
    """An activity failed for good because the journey's lead no longer exists."""


def _lead_gone(error: ActivityError | ApplicationError) -> bool:
    """Whether an activity failed because the lead is gone. A scheduled activity's failure
    arrives as an ActivityError around the ApplicationError; a local activity's as the
    ApplicationError itself."""
    cause = error.cause if isinstance(error, ActivityError) else error
    return isinstance(cause, ApplicationError) and cause.type == Failure.UNKNOWN_LEAD


async def _unless_lead_gone(call: Awaitable[T]) -> T:
    """Await an activity; its lead being gone becomes LeadGone (for histories that have the
    LEAD_GONE patch: before it, such a journey failed)."""
    try:
        return await call
    except (ActivityError, ApplicationError) as error:
        if _lead_gone(error) and workflow.patched(LEAD_GONE):
            raise LeadGone from error
        raise


Started = TypeVar("Started", JourneyInput, CountdownInput)


def started(input: Started) -> Started:
    """The input with its start time: given, or now (the workflow's own start)."""
    if input.enrolled_at is not None:
        return input
    return input.model_copy(update={"enrolled_at": workflow.now()})


class StepRunner:
    @classmethod
    def of(cls, input: JourneyInput | CountdownInput, **options: Any) -> StepRunner:
        """The runner for a started workflow's input and state; `options` as __init__'s."""
        return cls(
            lead_id=input.lead_id,
            enrollment_id=input.enrollment_id,
            sequence=input.sequence,
            sequence_version=input.sequence_version,
            enrolled_at=input.enrolled_at,
            state=input.state or JourneyState(),
            **options,
        )

    def __init__(
        self,
        *,
        lead_id: uuid.UUID,
        enrollment_id: uuid.UUID,
        sequence: Sequence,
        sequence_version: int,
        enrolled_at: datetime | None,
        state: JourneyState,
        step_prefix: str = "",
        occasion: tuple[Occasion, date] | None = None,
        one_cycle_of_many: bool = False,
    ) -> None:
        self.lead_id = lead_id
        self.enrollment_id = enrollment_id
        self.sequence = sequence
        self.sequence_version = sequence_version
        assert enrolled_at is not None, "the workflow fills in its start time"
        self.enrolled_at = enrolled_at
        self.state = state
        self.step_prefix = step_prefix  # countdowns prefix the year so each year sends anew
        self.occasion = occasion
        self.one_cycle_of_many = one_cycle_of_many  # a countdown's goal ends a year, not it
        self.facts: LeadFacts | None = None
        self.restart_requested = False
        self._positions = {step.id: index for index, step in enumerate(sequence.steps)}

    # --- state -----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.state.status is JourneyStatus.ACTIVE

    def _record(self, step_id: str, status: str, **detail: str | None) -> None:
        self.state.history.append(
            StepRecord(step_id=step_id, at=workflow.now(), status=status, **detail)
        )

    def _occasions(self) -> dict[Occasion, date]:
        facts = self.facts.occasions if self.facts else {}
        return {**facts, **dict([self.occasion])} if self.occasion else dict(facts)

    def due(self, step: Step) -> datetime | None:
        assert self.facts is not None
        return due_at(
            step.at,
            enrolled_at=self.enrolled_at,
            previous_due=self.state.previous_due or self.enrolled_at,
            tz=self.facts.timezone,
            occasions=self._occasions(),
        )

    def view(self) -> JourneyView:
        steps = self.sequence.steps
        upcoming = steps[self.state.next_step] if self.state.next_step < len(steps) else None
        due = self.due(upcoming) if upcoming is not None and self.facts and self.active else None
        return JourneyView(
            sequence_key=self.sequence.key,
            sequence_version=self.sequence_version,
            status=self.state.status,
            paused=self.state.paused,
            paused_until=self.state.paused_until,
            current_step=upcoming.id if upcoming is not None and self.active else None,
            next_due_at=due,
            waiting_for=self.state.waiting_for,
            occasion_date=self.occasion[1] if self.occasion else None,
            history=self.state.history,
        )

    # --- waiting ---------------------------------------------------------------------------

    async def _wait(self, done: Callable[[], bool], limit: timedelta | None = None) -> bool:
        """Wait until `done()` or for `limit`; True if `done()` held. Rolls over when told."""

        def woken() -> bool:
            return (
                done()
                or not self.active
                or self.restart_requested
                or workflow.info().is_continue_as_new_suggested()
            )

        try:
            await workflow.wait_condition(woken, timeout=limit)
        except TimeoutError:
            return done()
        if self.active and not done():
            raise Rollover
        return done()

    async def _sleep_until(self, moment: datetime) -> bool:
        """Sleep until `moment`, unless the journey ends first. False if it ended."""
        remaining = moment - workflow.now()
        if remaining > timedelta(0):
            await self._wait(lambda: False, remaining)
        return self.active

    async def _wait_out_pauses(self) -> bool:
        while self.active:
            if self.state.paused:
                await self._wait(lambda: not self.state.paused)
                continue
            until = self.state.paused_until
            if until is not None and until > workflow.now():
                await self._wait(
                    lambda until=until: self.state.paused_until != until,  # type: ignore[misc]
                    until - workflow.now(),
                )
                continue
            return True
        return False

    # --- running ---------------------------------------------------------------------------

    async def load_facts(self) -> LeadFacts:
        """The lead's facts, read by a local activity: it runs inside the workflow task, with
        no server round trip and four fewer history events than a scheduled one (journeys
        whose history predates LOCAL_FACTS replay the scheduled one)."""
        local = workflow.patched(LOCAL_FACTS)
        execute = workflow.execute_local_activity if local else workflow.execute_activity
        facts: LeadFacts = await _unless_lead_gone(
            execute(
                LEAD_FACTS,
                LeadFactsRequest(lead_id=self.lead_id),
                result_type=LeadFacts,
                start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
                retry_policy=policies.BOOKKEEPING,
            )
        )
        self.facts = facts
        return facts

    async def run_steps(self) -> None:
        """Run from the current step to the end (or until the journey ends).

        Raises Rollover when the workflow should continue as new; the state says where to
        pick up. A lead deleted while the journey slept ends it at its next step, once.
        """
        try:
            await self._walk_steps()
        except LeadGone:
            self.end_lead_gone()

    def end_lead_gone(self) -> None:
        """The lead was deleted: the journey exits, saying so, instead of retrying for ever."""
        steps = self.sequence.steps
        current = steps[self.state.next_step].id if self.state.next_step < len(steps) else "end"
        self._record(self.step_prefix + current, "failed", reason=LEAD_DELETED)
        self.state.status = JourneyStatus.EXITED
        self.state.outcome = LEAD_DELETED
        workflow.logger.info("journey ended: its lead %s no longer exists", self.lead_id)

    async def _walk_steps(self) -> None:
        await self.load_facts()
        steps = self.sequence.steps
        while self.state.next_step < len(steps) and self.active:
            step = steps[self.state.next_step]
            if self.state.waiting_for is None:
                due = self.due(step)
                if due is None:
                    self._advance(step, "skipped", reason="no_date")
                    continue
                if not await self._sleep_until(due) or not await self._wait_out_pauses():
                    break
                if workflow.now() - due > MAX_LATENESS:
                    self.state.previous_due = due
                    self._advance(step, "missed", reason="late")
                    continue
                # A step without `at` follows the previous one as soon as it is done.
                self.state.previous_due = workflow.now()
                if step.when is not None and not await self._condition_holds(step):
                    self._advance(step, "skipped", reason="condition")
                    continue
                next_index = await self._act(step)
                if step.wait_for is None or not self.active:
                    self.state.next_step = next_index
                    continue
                self.state.waiting_for = step.wait_for.event
                self.state.wait_started = workflow.now()
            self.state.next_step = await self._wait_for(step)
            self.state.waiting_for = None
            self.state.previous_due = workflow.now()

    async def run_offsets_only(self) -> None:
        """How journeys started before the sequence language run: timed sends, nothing else.

        Kept for journeys whose history predates the `step-interpreter` patch (see
        NurtureJourney.run); it issues exactly the commands that code did.
        """
        try:
            await self._walk_offsets()
        except LeadGone:
            self.end_lead_gone()

    async def _walk_offsets(self) -> None:
        steps = self.sequence.steps
        while self.state.next_step < len(steps) and self.active:
            step = steps[self.state.next_step]
            assert isinstance(step.at, Offset)
            remaining = self.enrolled_at + step.at.as_timedelta() - workflow.now()
            if remaining > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: not self.active, timeout=remaining)
            await workflow.wait_condition(lambda: not self.state.paused or not self.active)
            if not self.active:
                break
            result = await self._send(step.id, step)
            self._record(step.id, result.status, channel=result.channel, reason=result.reason)
            self.state.next_step += 1
            if workflow.info().is_continue_as_new_suggested():
                raise Rollover

    def _advance(self, step: Step, status: str, **detail: str | None) -> None:
        self._record(self.step_prefix + step.id, status, **detail)
        self.state.next_step += 1

    async def _condition_holds(self, step: Step) -> bool:
        assert step.when is not None
        facts = await self.load_facts()
        seen = {event.kind for event in self.state.recent_events}
        return step.when.holds(
            score=facts.score,
            segment=facts.segment,
            attributes=facts.attributes,
            seen=seen,
            dates=set(self._occasions()),
        )

    async def _act(self, step: Step) -> int:
        """Run the step's action; return the index of the step to go to next."""
        next_index = self.state.next_step + 1
        step_id = self.step_prefix + step.id
        if step.send is not None:
            result = await self._send(step_id, step)
            self._record(step_id, result.status, channel=result.channel, reason=result.reason)
        elif step.task is not None:
            task_id = await self.open_task(step_id, step.task)
            self._record(step_id, "task_opened", reason=str(task_id))
        elif step.goto is not None:
            self._record(step_id, "goto", reason=step.goto)
            next_index = self._positions[step.goto]
        elif step.exit is not None:
            self._record(step_id, "exit", reason=step.exit.outcome)
            self.state.status = JourneyStatus.COMPLETED
            self.state.outcome = step.exit.outcome
        elif step.enroll is not None:
            enrolled = await _unless_lead_gone(
                enroll_in_sequence(self.lead_id, step.enroll.sequence)
            )
            self._record(step_id, enrolled)
        return next_index

    async def _wait_for(self, step: Step) -> int:
        wait = step.wait_for
        assert wait is not None and self.state.wait_started is not None
        since = self.state.wait_started

        def arrived() -> bool:
            return any(
                event.kind == wait.event
                and event.received_at >= since
                and all(event.facts.get(k) == v for k, v in wait.where.items())
                for event in self.state.recent_events
            )

        deadline = since + wait.within.as_timedelta()
        remaining = max(deadline - workflow.now(), timedelta(0))
        came = arrived() or await self._wait(arrived, remaining)
        self.state.wait_started = None
        if not self.active:
            return self.state.next_step
        self._record(
            self.step_prefix + step.id, "event_arrived" if came else "timed_out", reason=wait.event
        )
        target = wait.then if came else wait.otherwise
        return self._positions[target] if target else self.state.next_step + 1

    async def _send(self, step_id: str, step: Step) -> SendResult:
        """Send the step. Held for quiet hours: wait on a durable timer and ask again.

        The same request (same idempotency key) goes again after the wait, so the step is
        sent at most once; a purchase or opt-out during the wait ends the journey instead.
        """
        assert step.send is not None
        request = SendRequest(
            workflow_id=workflow.info().workflow_id,
            step_id=step_id,
            lead_id=self.lead_id,
            enrollment_id=self.enrollment_id,
            channel=step.send.channel,
            template=step.send.template,
            purpose=step.send.purpose,
            occasion_date=self.occasion[1] if self.occasion else None,
        )
        while True:
            try:
                result: SendResult = await workflow.execute_activity(
                    SEND_MESSAGE,
                    request,
                    result_type=SendResult,
                    start_to_close_timeout=policies.SEND_TIMEOUT,
                    schedule_to_close_timeout=policies.SEND_GIVE_UP_AFTER,
                    retry_policy=policies.SEND,
                )
            except ActivityError as error:
                if _lead_gone(error) and workflow.patched(LEAD_GONE):
                    raise LeadGone from error
                # Retries ran out (the provider stayed down): the step is recorded as failed.
                abandoned: SendResult = await workflow.execute_activity(
                    ABANDON_SEND,
                    request,
                    result_type=SendResult,
                    start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
                    retry_policy=policies.BOOKKEEPING,
                )
                return abandoned
            if result.deferred_until is None:
                return result
            if not await self._sleep_until(result.deferred_until):
                return result

    async def open_task(self, key: str, action: TaskAction) -> uuid.UUID:
        """Hand the lead to a person (routed, notified, with an SLA); once per key."""
        return await _unless_lead_gone(
            open_escalation(
                OpenEscalation(
                    lead_id=self.lead_id,
                    kind=action.kind,
                    role_needed=action.role,
                    reason=action.reason,
                    sla=action.sla.as_timedelta(),
                    priority=Priority(action.priority),
                    idempotency_key=f"{workflow.info().workflow_id}:{key}",
                    purpose=self.sequence.task_purpose(action),
                )
            )
        )

    # --- events ------------------------------------------------------------------------------

    async def on_event(self, event: JourneyEvent) -> None:
        """React to an event once: goal, exit, reply pause, or the sequence's `on_event`."""
        try:
            await self._react(event)
        except LeadGone:
            self.end_lead_gone()

    async def _react(self, event: JourneyEvent) -> None:
        if event.event_id in self.state.seen_event_ids:
            return
        self.state.seen_event_ids = [*self.state.seen_event_ids, event.event_id][
            -SEEN_EVENT_IDS_KEPT:
        ]
        received = ReceivedEvent(kind=event.kind, facts=event.facts, received_at=workflow.now())
        self.state.recent_events = [*self.state.recent_events, received][-RECENT_EVENTS_KEPT:]
        if not self.active:
            return
        sequence = self.sequence
        if sequence.goal_reached_by(event.kind, event.facts):
            self._record(f"{self.step_prefix}{event.kind}", "goal_reached")
            if self.one_cycle_of_many:
                self.state.next_step = len(sequence.steps)  # done for this year
                return
            self.state.status = JourneyStatus.CONVERTED
            self.state.outcome = event.kind.value
            self.state.revenue_minor = event.revenue_minor
            self.state.currency = event.currency
            return
        if event.kind in sequence.exit_on:
            self.state.status = JourneyStatus.EXITED
            self.state.outcome = event.kind.value
            return
        if event.kind is EventKind.REPLY and sequence.reply_pauses is not None:
            self._pause_until(workflow.now() + sequence.reply_pauses.as_timedelta())
            await self.open_task(
                f"reply-{event.event_id}",
                TaskAction(
                    role=StaffRole.ASSOCIATE,
                    kind="answer_reply",
                    reason="The lead replied to an automated message: answer them personally",
                    sla=Offset(hours=4),
                    priority="hot",
                ),
            )
        reaction = sequence.on_event.get(event.kind)
        if reaction is None:
            return
        if reaction.pause is not None:
            self._pause_until(workflow.now() + reaction.pause.as_timedelta())
        elif reaction.exit is not None:
            self.state.status = JourneyStatus.EXITED
            self.state.outcome = reaction.exit.outcome
        elif reaction.task is not None:
            await self.open_task(f"{event.kind}-{event.event_id}", reaction.task)

    def supersede(self, reason: str) -> None:
        """A newer run of this sequence, or the new segment's journey, takes over: the journey
        ends at once as superseded (its outcome says why), sending nothing more."""
        if not self.active:
            return
        steps = self.sequence.steps
        current = steps[self.state.next_step].id if self.state.next_step < len(steps) else "end"
        self._record(self.step_prefix + current, "superseded", reason=reason)
        self.state.status = JourneyStatus.SUPERSEDED
        self.state.outcome = reason

    def _pause_until(self, until: datetime) -> None:
        current = self.state.paused_until
        self.state.paused_until = until if current is None else max(current, until)

    async def finish(self) -> JourneyResult:
        """Write the outcome to the enrollment row; the journey's result."""
        if self.state.status is JourneyStatus.ACTIVE:
            self.state.status = JourneyStatus.COMPLETED
            self.state.outcome = "completed"
        await workflow.execute_activity(
            FINISH_ENROLLMENT,
            FinishEnrollment(
                workflow_id=workflow.info().workflow_id,
                status=self.state.status,
                outcome=self.state.outcome,
                revenue_minor=self.state.revenue_minor,
                currency=self.state.currency,
            ),
            start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
            retry_policy=policies.BOOKKEEPING,
        )
        return JourneyResult(
            status=self.state.status,
            outcome=self.state.outcome,
            revenue_minor=self.state.revenue_minor,
            steps=self.state.history,
        )
