"""EscalationTask on the time-skipping server: a certification question opens a gemologist
task; no acknowledgement within the SLA reassigns it to the next gemologist, a second breach
to the store manager; each assignee is notified; completing it ends the workflow."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from sqlalchemy import select

from core.vocabulary import TaskOutcome, TaskStatus
from core.workflow_ids import task_workflow_id
from db.models import Staff, Task, Touch
from sequences.vocabulary import StaffRole
from tests.factories import add_event, make_lead
from workflows.escalation import Completion, EscalationTask
from workflows.qualification import QualifyInput, QualifyLead, QualifyOutcome


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
