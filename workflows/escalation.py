"""EscalationTask: one task, one person at a time, an SLA timer, and escalation on a breach.

`open_escalation` is how any workflow asks for a person: a journey's `task` step, a reply that
pauses automation, the per-event qualification, the going-cold sweep.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.qualification_payloads import (
        ABANDON_NOTICE,
        CANCEL_ESCALATIONS,
        NOTIFY_ASSIGNEE,
        OPEN_TASK,
        REASSIGN_TASK,
        CancelEscalations,
        Cancellation,
        NotifyRequest,
        NotifyResult,
        OpenTaskRequest,
        ReassignRequest,
        TaskAssigned,
        TaskOpened,
    )
    from core.vocabulary import TaskOutcome, TaskStatus
    from core.workflow_ids import task_workflow_id
    from workflows import policies
    from workflows.escalation_model import (
        Acknowledgement,
        Completion,
        EscalationInput,
        EscalationResult,
        EscalationView,
        Handover,
        OpenEscalation,
    )


# Patch id: a notice whose retries ran out is recorded as failed; the task's SLA runs on.
NOTICE_GIVE_UP = "notice-give-up"

# The breach that hands a task to the store manager (the first goes to the next candidate).
MANAGER_BREACH = 2

# Notices of a task a person handed over (handed back, or a manager reassigned it) are
# numbered from here, so they never share a key with the SLA's own assignments (0, 1, 2).
HANDOVER_NOTICES = 100

_ENDED = (TaskStatus.COMPLETED, TaskStatus.CANCELLED)


async def open_escalation(request: OpenEscalation) -> uuid.UUID:
    """From inside any workflow: open the task (idempotently) and start its EscalationTask.

    The child runs as `task:{task_id}` with ParentClosePolicy.ABANDON, so the task outlives
    the journey that asked for it; a task whose workflow already runs (a retry, or an open
    task reused) is left to it.
    """
    opened: TaskOpened = await workflow.execute_activity(
        OPEN_TASK,
        OpenTaskRequest(
            lead_id=request.lead_id,
            kind=request.kind,
            role_needed=request.role_needed,
            reason=request.reason,
            priority=request.priority,
            sla=request.sla,
            idempotency_key=request.idempotency_key,
            requested_at=workflow.now(),
            reuse_open=request.reuse_open,
            purpose=request.purpose,
        ),
        result_type=TaskOpened,
        start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
        retry_policy=policies.BOOKKEEPING,
    )
    if opened.status in (TaskStatus.OPEN, TaskStatus.ACKNOWLEDGED):
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                EscalationTask.run,
                EscalationInput(
                    task_id=opened.task_id,
                    lead_id=request.lead_id,
                    sla=request.sla,
                    sla_due_at=opened.sla_due_at,
                    assignee_id=opened.assignee_id,
                ),
                id=task_workflow_id(opened.task_id),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
    return opened.task_id


async def cancel_escalations(task_ids: list[uuid.UUID], reason: str) -> None:
    """From inside any workflow: end these tasks' EscalationTasks (rows already cancelled).

    The signals go from an activity, not as workflow commands: a task whose workflow has
    ended (or never started) needs nothing, and the activity says so without failing.
    """
    if not task_ids:
        return
    await workflow.execute_activity(
        CANCEL_ESCALATIONS,
        CancelEscalations(task_ids=task_ids, reason=reason),
        start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
        retry_policy=policies.BOOKKEEPING,
    )


@workflow.defn
class EscalationTask:
    """One task until a person completes it.

    Input: `EscalationInput` (the task row exists and is assigned; ids only).
    Runs: notifies the assignee, then waits for `acknowledge` until the SLA is due. A first
    breach reassigns to the next candidate; a second to the store manager; each new assignee
    is notified and gets a fresh SLA. After acknowledgement it waits for `complete`.
    Signals: `acknowledge`, `complete` (the API has already written them to the task row),
    `cancel` (the lead bought or opted out; the row is already cancelled), `hand_over` (a
    person gave the task to someone else, already on the row: the new assignee is notified;
    the SLA keeps its due time, and a task acknowledged before it was handed back no longer
    escalates).
    Query: `status`. Ends: on `complete` (returning the outcome) or `cancel`, with no further
    reassignment or notice.
    """

    @workflow.init
    def __init__(self, input: EscalationInput) -> None:
        self._task_id = input.task_id
        self._status = TaskStatus.OPEN
        self._outcome: TaskOutcome | None = None
        self._breaches = 0
        self._sla_due_at = input.sla_due_at
        self._assignee = input.assignee_id
        self._assignees = [input.assignee_id] if input.assignee_id else []

    @workflow.run
    async def run(self, input: EscalationInput) -> EscalationResult:
        await self._notify(input.task_id)
        # Two breaches reach the manager; after that the task waits for people, not timers,
        # so an ignored task costs nothing while it waits (and its history stays short).
        while self._status is TaskStatus.OPEN and self._breaches < MANAGER_BREACH:
            due = self._sla_due_at or workflow.now() + input.sla
            remaining = max(due - workflow.now(), timedelta(0))
            try:
                await workflow.wait_condition(
                    lambda: self._status is not TaskStatus.OPEN, timeout=remaining
                )
            except TimeoutError:
                await self._breach(input)
        await workflow.wait_condition(lambda: self._status in _ENDED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return EscalationResult(
            status=self._status,
            outcome=self._outcome,
            breaches=self._breaches,
            assignees=self._assignees,
        )

    async def _breach(self, input: EscalationInput) -> None:
        self._breaches += 1
        now = workflow.now()
        assigned: TaskAssigned = await workflow.execute_activity(
            REASSIGN_TASK,
            ReassignRequest(
                task_id=input.task_id,
                breach=self._breaches,
                now=now,
                sla_due_at=now + input.sla,
            ),
            result_type=TaskAssigned,
            start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
            retry_policy=policies.BOOKKEEPING,
        )
        self._sla_due_at = assigned.sla_due_at
        if not assigned.still_open:
            if assigned.status is TaskStatus.CANCELLED:
                self._status = TaskStatus.CANCELLED  # even if its `cancel` signal was lost
                return
            # Acknowledged or completed at the moment the SLA ran out: the signal is on its way.
            await workflow.wait_condition(lambda: self._status is not TaskStatus.OPEN)
            return
        if assigned.assignee_id is not None and assigned.assignee_id != self._assignee:
            self._assignee = assigned.assignee_id
            self._assignees.append(assigned.assignee_id)
            await self._notify(input.task_id)

    async def _notify(self, task_id: uuid.UUID, assignment: int | None = None) -> None:
        if assignment is None:
            assignment = self._breaches
        try:
            await workflow.execute_activity(
                NOTIFY_ASSIGNEE,
                NotifyRequest(task_id=task_id, assignment=assignment),
                result_type=NotifyResult,
                start_to_close_timeout=policies.NOTICE_TIMEOUT,
                schedule_to_close_timeout=policies.NOTICE_GIVE_UP_AFTER,
                retry_policy=policies.NOTICE,
            )
        except ActivityError:
            if not workflow.patched(NOTICE_GIVE_UP):
                raise
            # The provider stayed down: the notice is recorded as failed, and the SLA runs on
            # (the next assignee, or the manager, is told on a breach).
            await workflow.execute_activity(
                ABANDON_NOTICE,
                NotifyRequest(task_id=task_id, assignment=assignment),
                result_type=NotifyResult,
                start_to_close_timeout=policies.BOOKKEEPING_TIMEOUT,
                retry_policy=policies.BOOKKEEPING,
            )

    @workflow.signal
    def acknowledge(self, acknowledgement: Acknowledgement) -> None:
        if self._status is TaskStatus.OPEN:
            self._status = TaskStatus.ACKNOWLEDGED

    @workflow.signal
    def complete(self, completion: Completion) -> None:
        if self._status is not TaskStatus.CANCELLED:
            self._status = TaskStatus.COMPLETED
            self._outcome = completion.outcome

    @workflow.signal
    def cancel(self, cancellation: Cancellation) -> None:
        if self._status is not TaskStatus.COMPLETED:
            self._status = TaskStatus.CANCELLED

    @workflow.signal
    async def hand_over(self, handover: Handover) -> None:
        if self._status in _ENDED or handover.assignee_id == self._assignee:
            return
        self._assignee = handover.assignee_id
        self._assignees.append(handover.assignee_id)
        self._status = TaskStatus.OPEN
        await self._notify(self._task_id, HANDOVER_NOTICES + handover.handover)

    @workflow.query
    def status(self) -> EscalationView:
        return EscalationView(
            task_id=self._task_id,
            status=self._status,
            breaches=self._breaches,
            assignee_id=self._assignee,
            sla_due_at=self._sla_due_at,
        )
