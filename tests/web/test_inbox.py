"""The inbox over HTTP: soonest due first, only mine, and what each button changes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.vocabulary import TaskStatus
from db.models import Event
from sequences.vocabulary import StaffRole
from tests.web.people import make_account, signed_in, staff_of
from tests.web.tasks import open_task, task_row


async def test_my_tasks_soonest_due_first_and_not_someone_elses(console, database, store):
    later = open_task(database, store, sla=timedelta(hours=8), reason="Call about the pendant")
    sooner = open_task(database, store, sla=timedelta(hours=1), reason="Call about the ring")
    gemologists = open_task(database, store, role=StaffRole.GEMOLOGIST, reason="GIA question")
    async with console() as http:
        await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get("/console/inbox")).text
    assert page.index(str(sooner)) < page.index(str(later))
    assert str(gemologists) not in page and "GIA question" not in page


async def test_complete_needs_an_outcome_and_records_it_on_the_lead(console, database, store):
    task = open_task(database, store)
    async with console() as http:
        me = await signed_in(http, make_account(database, store, "associate"))
        refused = await me.post(f"/console/tasks/{task}/complete", {"outcome": "maybe"})
        assert refused.status_code == 422 and "Choose how it went" in refused.text
        assert task_row(database, task).status is TaskStatus.OPEN
        answer = await me.post(
            f"/console/tasks/{task}/complete",
            {"outcome": "no_answer", "note": "Rang twice"},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 200 and "Completed · no answer" in answer.text
    row = task_row(database, task)
    assert row.status is TaskStatus.COMPLETED and row.outcome == "no_answer"
    event = database.read(
        lambda s: s.scalars(select(Event).where(Event.lead_id == row.lead_id)).one()
    )
    assert event.kind == "task_completed" and event.payload["text"] == "Rang twice"


async def test_a_manager_reassigns_and_an_associate_hands_back(console, database, store):
    gemologist = staff_of(database, store, StaffRole.GEMOLOGIST)
    manager = staff_of(database, store, StaffRole.MANAGER)
    first, second = open_task(database, store), open_task(database, store)
    async with console() as http:
        rahul = await signed_in(http, make_account(database, store, "manager"))
        answer = await rahul.post(
            f"/console/tasks/{first}/reassign",
            {"staff_id": str(gemologist.id), "next": f"/console/tasks/{first}"},
        )
        assert answer.status_code == 303 and answer.headers["location"] == f"/console/tasks/{first}"
        elsewhere = await rahul.post(
            f"/console/tasks/{first}/reassign",
            {"staff_id": str(first)},  # not a person here
        )
        assert elsewhere.status_code == 422
    assert task_row(database, first).assignee_id == gemologist.id
    async with console() as http:
        priya = await signed_in(http, make_account(database, store, "associate"))
        assert str(first) not in (await http.get("/console/inbox")).text
        assert (await priya.post(f"/console/tasks/{second}/acknowledge")).status_code == 303
        answer = await priya.post(
            f"/console/tasks/{second}/hand-back", headers={"HX-Request": "true"}
        )
        assert answer.status_code == 200 and "Handed back." in answer.text
        assert str(second) not in (await http.get("/console/inbox")).text
    row = task_row(database, second)
    assert row.assignee_id == manager.id and row.status is TaskStatus.OPEN
    assert row.history[-1]["event"] == "handed back"
