"""EscalationTask on the time-skipping server: a certification question opens a gemologist
task; no acknowledgement within the SLA reassigns it to the next gemologist, a second breach
to the store manager; each assignee is notified; completing it ends the workflow."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.vocabulary import ApiRole, TaskOutcome, TaskStatus
from core.workflow_ids import task_workflow_id
from db.models import Staff, Task, Touch
from domain import tasks
from domain.access import Actor
from sequences.vocabulary import Priority, StaffRole
from tests.factories import add_event, make_lead
from workflows import handles
from workflows.escalation import EscalationTask
from workflows.escalation_model import Completion
from workflows.qualification import QualifyLead
from workflows.qualification_model import QualifyInput, QualifyOutcome


def _question(database, store, lead_id) -> uuid.UUID:
    return add_event(
        database, store, lead_id, "question", {"text": "Is the 1.2 carat oval GIA certified?"}
    )


def _task(database, task_id) -> Task:
    return database.run(lambda s: s.get_one(Task, task_id))


async def _until(check, what: str, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


async def test_sla_breach_reassigns_then_escalates_to_manager(
    time_skipping, worker_for, database, store
):
    second = uuid.uuid4()
    database.run(
        lambda s: s.add(
            Staff(id=second, store_id=store.id, name="Kavya", role=StaffRole.GEMOLOGIST)
        )
    )
    members = database.run(
        lambda s: s.scalars(select(Staff).where(Staff.store_id == store.id)).all()
    )
    staff = {member.name: member for member in members}
    lead_id = make_lead(database, store)
    event_id = _question(database, store, lead_id)
    client = time_skipping.client

    async with worker_for(client) as task_queue:
        outcome: QualifyOutcome = await client.execute_workflow(
            QualifyLead.run,
            QualifyInput(lead_id=lead_id, event_id=event_id),
            id=f"qualify:{event_id}",
            task_queue=task_queue,
        )
        assert outcome.priority == "hot" and outcome.task_id is not None
        task = _task(database, outcome.task_id)
        assert task.role_needed is StaffRole.GEMOLOGIST and task.kind == "certification_question"
        first = task.assignee_id
        assert first in {staff["Arjun"].id, second}
        assert task.sla_due_at is not None

        await time_skipping.sleep(timedelta(hours=1, minutes=1))
        task = await _until(
            lambda: (t := _task(database, outcome.task_id)).assignee_id != first and t,
            "the first reassignment",
        )
        assert task.assignee_id in {staff["Arjun"].id, second} - {first}
        assert "sla breach 1" in task.history[-1]["event"]

        await time_skipping.sleep(timedelta(hours=1, minutes=1))
        task = await _until(
            lambda: (t := _task(database, outcome.task_id)).assignee_id == staff["Rahul"].id and t,
            "escalation to the manager",
        )
        assert task.status is TaskStatus.OPEN

        notices = await _until(
            lambda: (
                len(
                    n := database.run(
                        lambda s: s.scalars(
                            select(Touch).where(
                                Touch.lead_id == lead_id, Touch.template == "task/notice"
                            )
                        ).all()
                    )
                )
                == 3
                and n
            ),
            "three notices (one per assignee)",
        )
        assert {n.step_id for n in notices} == {"task-notice-0", "task-notice-1", "task-notice-2"}

        handle = client.get_workflow_handle_for(
            EscalationTask.run, task_workflow_id(outcome.task_id)
        )
        view = await handle.query(EscalationTask.status)
        assert view.breaches == 2
        await handle.signal(
            EscalationTask.complete, Completion(staff_id=None, outcome=TaskOutcome.CONTACTED)
        )
        result = await handle.result()
        assert result.breaches == 2
        assert result.assignees[-1] == staff["Rahul"].id


async def test_same_event_opens_one_task(time_skipping, worker_for, database, store):
    lead_id = make_lead(database, store)
    event_id = _question(database, store, lead_id)
    client = time_skipping.client
    async with worker_for(client) as task_queue:
        outcomes = []
        for _ in range(2):
            outcomes.append(
                await client.execute_workflow(
                    QualifyLead.run,
                    QualifyInput(lead_id=lead_id, event_id=event_id),
                    id=f"qualify:{event_id}:{uuid.uuid4().hex[:6]}",
                    task_queue=task_queue,
                )
            )
    tasks = database.run(lambda s: s.scalars(select(Task).where(Task.lead_id == lead_id)).all())
    assert len(tasks) == 1
    assert outcomes[0].task_id == outcomes[1].task_id == tasks[0].id


async def test_a_handed_back_task_notifies_its_new_assignee_and_escalates_on(
    time_skipping, worker_for, database, store
):
    """The associate hands the task back: routing gives it to the manager (the only other
    person who can take it), who is notified; the SLA still runs on the original due time."""
    members = database.run(
        lambda s: s.scalars(select(Staff).where(Staff.store_id == store.id)).all()
    )
    staff = {member.name: member for member in members}
    priya = Actor(None, "Priya", ApiRole.ASSOCIATE, store.id, staff["Priya"].id)
    lead_id = make_lead(database, store)
    client = time_skipping.client
    async with worker_for(client) as task_queue:
        opened = database.run(
            lambda s: tasks.open_task(
                s,
                lead_id=lead_id,
                kind="call_back",
                role_needed=StaffRole.ASSOCIATE,
                reason="Asked to be called back",
                priority=Priority.HOT,
                sla=timedelta(hours=1),
                idempotency_key=f"test:{uuid.uuid4()}",
                requested_at=datetime.now(UTC),
            )
        )
        escalation = tasks.escalation(opened, timedelta(hours=1))
        assert escalation is not None and opened.assignee_id == staff["Priya"].id
        await handles.start_escalation(client, task_queue, escalation)
        await _until(lambda: _task(database, opened.task_id).notice, "the first notice")

        handed = database.run(lambda s: tasks.hand_back(s, opened.task_id, priya))
        assert handed.assignee_id == staff["Rahul"].id and handed.handover == 1
        await handles.hand_over_task(client, opened.task_id, handed.assignee_id, handed.handover)
        notice = await _until(
            lambda: (n := _task(database, opened.task_id).notice) and n["assignment"] == 101 and n,
            "the new assignee's notice",
        )
        assert notice["staff_id"] == str(staff["Rahul"].id)
        # The same hand-over told twice (a retried request) notifies once.
        await handles.hand_over_task(client, opened.task_id, handed.assignee_id, handed.handover)
        # The SLA runs on from its original due time: unacknowledged, it breaches.
        await time_skipping.sleep(timedelta(hours=1, minutes=1))
        await _until(
            lambda: any(
                "sla breach 1" in h["event"] for h in _task(database, opened.task_id).history
            ),
            "the SLA breach after the hand-over",
        )

        handle = client.get_workflow_handle_for(
            EscalationTask.run, task_workflow_id(opened.task_id)
        )
        view = await handle.query(EscalationTask.status)
        assert view.assignee_id == staff["Rahul"].id and view.status is TaskStatus.OPEN
        await handle.signal(
            EscalationTask.complete, Completion(staff_id=None, outcome=TaskOutcome.CONTACTED)
        )
        result = await handle.result()
    assert result.assignees == [staff["Priya"].id, staff["Rahul"].id]
    notices = database.run(
        lambda s: s.scalars(
            select(Touch).where(Touch.lead_id == lead_id, Touch.template == "task/notice")
        ).all()
    )
    assert sorted((n.step_id, n.staff_id) for n in notices) == sorted(
        [("task-notice-0", staff["Priya"].id), ("task-notice-101", staff["Rahul"].id)]
    )
