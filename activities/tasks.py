"""Task activities: open a task once, reassign on an SLA breach, tell the assignee, end the
escalations of tasks a purchase or an opt-out cancelled, and find leads going cold.

The rules are the domain's (`domain.tasks`, `domain.notices`, `domain.scoring`); a notice
leaves through the same send pipeline as every message. Times come from the calling workflow
(`requested_at`, `sla_due_at`, `now`), so SLAs follow workflow time, also on the
time-skipping test server.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.orm import Session
from temporalio import activity

from activities.failures import failing_for_good
from activities.qualification_payloads import (
    ABANDON_NOTICE,
    CANCEL_ESCALATIONS,
    FIND_COLD_LEADS,
    NOTIFY_ASSIGNEE,
    OPEN_TASK,
    REASSIGN_TASK,
    CancelEscalations,
    ColdLeads,
    ColdSweepRequest,
    NotifyRequest,
    NotifyResult,
    OpenTaskRequest,
    ReassignRequest,
    TaskAssigned,
    TaskOpened,
)
from activities.sending import SendPipeline
from db.session import Database
from db.types import utcnow
from domain import messages, notices, scoring, tasks
from providers.base import Registry
from qualification.config import QualificationConfig

log = logging.getLogger(__name__)

# Ends the EscalationTask workflows of these tasks (their rows are already cancelled), saying
# why; one that has ended already is fine. The worker builds it from workflows/handles.py.
CancelTasks = Callable[[list[uuid.UUID], str], Awaitable[None]]


class TaskActivities:
    def __init__(
        self,
        database: Database,
        providers: Registry,
        config: QualificationConfig,
        cancel_tasks: CancelTasks | None = None,
        task_links: notices.TaskLinks | None = None,
    ) -> None:
        self._db = database
        self._pipeline = SendPipeline(database, providers)
        self._repeatable = providers.repeatable
        self._config = config
        self._cancel_tasks = cancel_tasks
        self._task_links = task_links

    @activity.defn(name=CANCEL_ESCALATIONS)
    async def cancel_escalations(self, request: CancelEscalations) -> None:
        """Tell each task's EscalationTask to end; one that has ended already is fine."""
        assert self._cancel_tasks is not None, "the worker gives task activities its client"
        await self._cancel_tasks(request.task_ids, request.reason)

    @activity.defn(name=OPEN_TASK)
    def open_task(self, request: OpenTaskRequest) -> TaskOpened:
        """Open the task once (a retry returns the same task), routed to the right person."""
        with failing_for_good():
            opened = self._db.run(lambda session: tasks.open_task(session, **request.model_dump()))
        log.info(
            "lead %s task %s (%s) open=%s",
            request.lead_id,
            opened.task_id,
            request.kind,
            opened.created,
        )
        return TaskOpened.model_validate(opened, from_attributes=True)

    @activity.defn(name=REASSIGN_TASK)
    def reassign_task(self, request: ReassignRequest) -> TaskAssigned:
        """After an SLA breach: the next candidate (first breach) or the store manager."""
        with failing_for_good():
            assigned = self._db.run(lambda session: tasks.reassign(session, **request.model_dump()))
        if assigned.still_open:
            log.info("task %s breached its SLA (%d); reassigned", request.task_id, request.breach)
        return TaskAssigned.model_validate(assigned, from_attributes=True)

    @activity.defn(name=NOTIFY_ASSIGNEE)
    def notify_assignee(self, request: NotifyRequest) -> NotifyResult:
        """Tell the task's assignee, once per assignment, by their notice settings."""
        now = utcnow()
        step = self._pipeline.send(
            lambda session: notices.prepare_notice(
                session,
                request.task_id,
                request.assignment,
                self._repeatable,
                self._task_links,
                now,
            ),
            notices.notice_refused,
            now,
        )
        if step is None:
            return NotifyResult(touch_id=None, channel=None, reason="unassigned")
        self._db.run(
            lambda session: notices.note_on_task(session, request.task_id, request.assignment, now)
        )
        touch = step.touch
        return NotifyResult(
            touch_id=touch.id,
            channel=touch.channel.value if touch.channel else None,
            reason=touch.reason,
        )

    @activity.defn(name=ABANDON_NOTICE)
    def abandon_notice(self, request: NotifyRequest) -> NotifyResult:
        """The notice ran out of retries (the provider stayed down): it failed, on the task too."""
        now = utcnow()

        def abandon(session: Session) -> NotifyResult:
            touch = messages.abandon(
                session, notices.notice_key(request.task_id, request.assignment)
            )
            notices.note_on_task(session, request.task_id, request.assignment, now)
            if touch is None:
                return NotifyResult(touch_id=None, channel=None, reason="unassigned")
            return NotifyResult(
                touch_id=touch.id,
                channel=touch.channel.value if touch.channel else None,
                reason=touch.reason,
            )

        return self._db.run(abandon)

    @activity.defn(name=FIND_COLD_LEADS)
    def find_cold_leads(self, request: ColdSweepRequest) -> ColdLeads:
        """Leads in an active journey that have not engaged for their segment's N days."""
        cold = self._db.read(
            lambda session: scoring.cold_leads(session, self._config, request.now, request.store_id)
        )
        return ColdLeads(leads=cold)
