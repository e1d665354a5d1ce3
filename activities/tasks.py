"""Task activities: open a task once, route it, tell the assignee, reassign on an SLA breach,
and find leads going cold.

Times come from the calling workflow (`requested_at`, `sla_due_at`, `now`), so SLAs follow
workflow time, also on the time-skipping test server.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.qualification_payloads import (
    CANCEL_ESCALATIONS,
    ESCALATION_CANCEL_SIGNAL,
    FIND_COLD_LEADS,
    NOTIFY_ASSIGNEE,
    OPEN_TASK,
    REASSIGN_TASK,
    CancelEscalations,
    Cancellation,
    ColdLead,
    ColdLeads,
    ColdSweepRequest,
    NotifyRequest,
    NotifyResult,
    OpenTaskRequest,
    ReassignRequest,
    TaskAssigned,
    TaskOpened,
)
from activities.scoring import load_facts
from core.vocabulary import TaskStatus, TouchStatus
from core.workflow_ids import task_workflow_id
from db.models import Lead, Staff, Task, Touch
from db.repositories import (
    PurchaseRepository,
    QualificationReader,
    StaffRepository,
    TaskRepository,
    TouchRepository,
)
from db.session import Database
from db.types import utcnow
from providers.base import OutgoingMessage, Registry
from qualification.cold import is_going_cold
from qualification.config import QualificationConfig
from qualification.routing import Candidate, RoutingChoice, RoutingRequest, route
from qualification.scoring import idle_days
from sequences.vocabulary import Channel, Purpose, StaffRole

log = logging.getLogger(__name__)

NOTICE_TEMPLATE = "task/notice"
COLD_PAGE = 2_000


def conversion_rate(sales: int, completed: int) -> float:
    """Sales per completed task, smoothed towards 20% so one lucky sale does not dominate."""
    return (sales + 1) / (completed + 5)


def candidates(session: Session, store_id: uuid.UUID) -> list[Candidate]:
    tasks = TaskRepository(session)
    open_counts = tasks.open_counts(store_id)
    completed = tasks.completed_counts(store_id)
    sales = PurchaseRepository(session).sales_by_associate(store_id)
    return [
        Candidate(
            staff_id=staff.id,
            role=staff.role,
            languages=tuple(staff.languages or ()),
            active=staff.active,
            open_tasks=open_counts.get(staff.id, 0),
            capacity=staff.capacity,
            conversion_rate=conversion_rate(sales.get(staff.id, 0), completed.get(staff.id, 0)),
        )
        for staff in StaffRepository(session).for_store(store_id)
    ]


def _history(task: Task, entry: dict[str, Any]) -> None:
    task.history = [*task.history, entry]


def _opened(task: Task, created: bool) -> TaskOpened:
    return TaskOpened(
        task_id=task.id,
        created=created,
        status=task.status,
        assignee_id=task.assignee_id,
        sla_due_at=task.sla_due_at,
    )


def _assign(task: Task, choice: RoutingChoice, due: datetime, at: datetime, why: str) -> None:
    task.assignee_id = choice.staff_id
    task.routing_reason = choice.reason
    task.sla_due_at = due
    _history(
        task,
        {
            "at": at.isoformat(),
            "event": why,
            "assignee_id": str(choice.staff_id) if choice.staff_id else None,
            "reason": choice.reason,
        },
    )


class TaskActivities:
    def __init__(
        self,
        database: Database,
        providers: Registry,
        config: QualificationConfig,
        temporal: Client | None = None,
    ) -> None:
        self._db = database
        self._providers = providers
        self._config = config
        self._temporal = temporal

    @activity.defn(name=CANCEL_ESCALATIONS)
    async def cancel_escalations(self, request: CancelEscalations) -> None:
        """Tell each task's EscalationTask to end; one that has ended already is fine."""
        assert self._temporal is not None, "the worker gives task activities its client"
        for task_id in request.task_ids:
            handle = self._temporal.get_workflow_handle(task_workflow_id(task_id))
            try:
                await handle.signal(ESCALATION_CANCEL_SIGNAL, Cancellation(reason=request.reason))
            except RPCError as error:
                if error.status is not RPCStatusCode.NOT_FOUND:
                    raise
                log.info("task %s has no running workflow to cancel", task_id)

    @activity.defn(name=OPEN_TASK)
    def open_task(self, request: OpenTaskRequest) -> TaskOpened:
        """Open the task once (a retry returns the same task), routed to the right person."""
        opened = self._db.run(lambda session: self._open(session, request))
        log.info(
            "lead %s task %s (%s) open=%s",
            request.lead_id,
            opened.task_id,
            request.kind,
            opened.created,
        )
        return opened

    def _open(self, session: Session, request: OpenTaskRequest) -> TaskOpened:
        lead = session.get(Lead, request.lead_id)
        if lead is None:
            raise ValueError(f"lead {request.lead_id} does not exist")
        tasks = TaskRepository(session)
        if request.reuse_open:
            existing = tasks.open_of_kind(lead.id, request.kind, request.role_needed)
            if existing is not None and existing.idempotency_key != request.idempotency_key:
                return _opened(existing, created=False)
        task, created = tasks.open_idempotent(
            Task(
                store_id=lead.store_id,
                lead_id=lead.id,
                kind=request.kind,
                role_needed=request.role_needed,
                reason=request.reason,
                priority=request.priority.value,
                idempotency_key=request.idempotency_key,
                created_at=request.requested_at,
            )
        )
        if created:
            choice = route(
                RoutingRequest(
                    role_needed=request.role_needed,
                    language=lead.language,
                    owner_id=lead.owner_id,
                    last_associate_id=tasks.last_associate(lead.id),
                ),
                candidates(session, lead.store_id),
            )
            _assign(
                task, choice, request.requested_at + request.sla, request.requested_at, "assigned"
            )
            assignee = session.get(Staff, choice.staff_id) if choice.staff_id else None
            if lead.owner_id is None and assignee and assignee.role is StaffRole.ASSOCIATE:
                lead.owner_id = assignee.id
            session.flush()
        return _opened(task, created)

    @activity.defn(name=REASSIGN_TASK)
    def reassign_task(self, request: ReassignRequest) -> TaskAssigned:
        """After an SLA breach: the next candidate (first breach) or the store manager."""
        return self._db.run(lambda session: self._reassign(session, request))

    def _reassign(self, session: Session, request: ReassignRequest) -> TaskAssigned:
        task = session.get_one(Task, request.task_id)
        done = [h for h in task.history if h.get("breach") == request.breach]
        if task.status is not TaskStatus.OPEN or done:
            return TaskAssigned(
                still_open=task.status is TaskStatus.OPEN,
                status=task.status,
                assignee_id=task.assignee_id,
                sla_due_at=task.sla_due_at,
                routing_reason=task.routing_reason,
            )
        lead = session.get_one(Lead, task.lead_id)
        tried = {uuid.UUID(h["assignee_id"]) for h in task.history if h.get("assignee_id")}
        role = task.role_needed if request.breach < 2 else StaffRole.MANAGER
        choice = route(
            RoutingRequest(role_needed=role, language=lead.language, exclude=frozenset(tried)),
            candidates(session, task.store_id),
        )
        if request.breach >= 2 and choice.staff_id is None:
            choice = route(RoutingRequest(role_needed=role), candidates(session, task.store_id))
        if choice.staff_id is None:
            choice = RoutingChoice(
                task.assignee_id, f"{choice.reason}; stays with the current assignee"
            )
        why = f"sla breach {request.breach}: reassigned"
        _assign(task, choice, request.sla_due_at, request.now, why)
        task.history[-1]["breach"] = request.breach
        session.flush()
        log.info("task %s breached its SLA (%d); reassigned", task.id, request.breach)
        return TaskAssigned(
            still_open=True,
            assignee_id=task.assignee_id,
            sla_due_at=task.sla_due_at,
            routing_reason=task.routing_reason,
        )

    @activity.defn(name=NOTIFY_ASSIGNEE)
    def notify_assignee(self, request: NotifyRequest) -> NotifyResult:
        """Send the assignee an SMS (or email) about the task, once per assignment."""
        claim = self._db.run(lambda session: self._claim_notice(session, request))
        if isinstance(claim, NotifyResult):
            return claim
        touch_id, message = claim
        receipt = self._providers.send(message)
        self._db.run(
            lambda session: TouchRepository(session).mark_sent(
                touch_id,
                provider=receipt.provider,
                provider_message_id=receipt.message_id,
                at=utcnow(),
            )
        )
        return NotifyResult(touch_id=touch_id, channel=message.channel.value)

    def _claim_notice(
        self, session: Session, request: NotifyRequest
    ) -> NotifyResult | tuple[uuid.UUID, OutgoingMessage]:
        task = session.get_one(Task, request.task_id)
        staff = session.get(Staff, task.assignee_id) if task.assignee_id else None
        if staff is None:
            return NotifyResult(touch_id=None, channel=None, reason="unassigned")
        channel, to = (
            (Channel.SMS, staff.phone_e164) if staff.phone_e164 else (Channel.EMAIL, staff.email)
        )
        lead = session.get_one(Lead, task.lead_id)
        due = f" Respond by {task.sla_due_at:%Y-%m-%d %H:%M} UTC." if task.sla_due_at else ""
        body = (
            f"Facet: {task.priority} task '{task.kind.replace('_', ' ')}' for "
            f"{lead.first_name or 'a lead'}: {task.reason}.{due}"
        )
        touch, _ = TouchRepository(session).claim(
            Touch(
                id=uuid.uuid4(),
                lead_id=lead.id,
                staff_id=staff.id,
                step_id=f"task-notice-{request.assignment}",
                channel=channel,
                purpose=Purpose.TRANSACTIONAL,
                template=NOTICE_TEMPLATE,
                idempotency_key=f"task:{task.id}:notice:{request.assignment}",
                status=TouchStatus.CLAIMED if to else TouchStatus.SUPPRESSED,
                reason=None if to else "no_contact",
                subject=f"New {task.priority} task" if channel is Channel.EMAIL else None,
                body=body,
            )
        )
        if touch.status is not TouchStatus.CLAIMED or to is None:
            return NotifyResult(touch_id=touch.id, channel=channel.value, reason=touch.reason)
        return touch.id, OutgoingMessage(
            touch_id=touch.id, channel=channel, to=to, subject=touch.subject, body=body
        )

    @activity.defn(name=FIND_COLD_LEADS)
    def find_cold_leads(self, request: ColdSweepRequest) -> ColdLeads:
        """Leads in an active journey that have not engaged for their segment's N days."""
        return self._db.run(lambda session: self._cold(session, request.now, request.store_id))

    def _cold(self, session: Session, now: datetime, store_id: uuid.UUID | None) -> ColdLeads:
        ids = QualificationReader(session).active_lead_ids(limit=50_000, store_id=store_id)
        cold: list[ColdLead] = []
        for start in range(0, len(ids), COLD_PAGE):
            for lead_id, (lead, facts) in load_facts(
                session, ids[start : start + COLD_PAGE], now
            ).items():
                idle = idle_days(facts, now)
                if idle is None or not is_going_cold(
                    idle, lead.segment, self._config.cold_after_days
                ):
                    continue
                last = (now - timedelta(days=idle)).date()
                cold.append(ColdLead(lead_id=lead_id, idle_days=int(idle), last_engaged_on=last))
                if len(cold) >= self._config.cold_sweep_limit:
                    return ColdLeads(leads=cold)
        return ColdLeads(leads=cold)
