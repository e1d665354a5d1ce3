"""Tasks through the real app and Temporal's dev server: a certification question becomes a
gemologist's task within seconds; staff act only on their own tasks and their own store."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import select

from api.auth import issue_api_key
from core.vocabulary import ApiRole
from db.models import Event, Staff
from sequences.vocabulary import StaffRole
from tests.conftest import bearer
from tests.factories import make_lead


def _staff_key(database, store, role: StaffRole) -> tuple[str, uuid.UUID]:
    member = database.run(
        lambda s: s.scalars(
            select(Staff).where(Staff.store_id == store.id, Staff.role == role)
        ).one()
    )
    key = issue_api_key(
        database, name=f"{role}-key", role=ApiRole.ASSOCIATE, store_id=store.id, staff_id=member.id
    )
    return key, member.id


async def _tasks_until(http, key: str, seconds: float = 10) -> list[dict]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tasks = (await http.get("/v1/tasks", headers=bearer(key))).json()["tasks"]
        if tasks:
            return tasks
        await asyncio.sleep(0.05)
    raise AssertionError(f"no task appeared within {seconds} s")


async def test_certification_question_creates_a_gemologist_task_within_seconds(
    http, database, store, api_key
):
    pos = api_key(ApiRole.POS)
    gemologist, gemologist_id = _staff_key(database, store, StaffRole.GEMOLOGIST)
    associate, _ = _staff_key(database, store, StaffRole.ASSOCIATE)
    lead_id = make_lead(database, store)

    started = time.monotonic()
    answer = await http.post(
        f"/v1/leads/{lead_id}/events",
        headers=bearer(pos),
        json={
            "event_id": f"web-{uuid.uuid4()}",
            "kind": "question",
            "payload": {"text": "Is this 1.5 carat solitaire GIA certified?"},
        },
    )
    assert answer.status_code == 201, answer.text
    tasks = await _tasks_until(http, gemologist)
    assert time.monotonic() - started < 5
    [task] = tasks
    assert task["role_needed"] == "gemologist" and task["assignee_id"] == str(gemologist_id)
    assert task["priority"] == "hot" and task["sla_due_at"] is not None
    assert "certification" in task["reason"]
    # The associate's inbox does not show the gemologist's task.
    assert (await http.get("/v1/tasks", headers=bearer(associate))).json()["tasks"] == []

    lead = (await http.get(f"/v1/leads/{lead_id}", headers=bearer(gemologist))).json()
    assert lead["score_detail"]["priority"] == "hot"
    assert lead["score_detail"]["model_version"] == "rules-v1"
    assert lead["score_detail"]["triggers"][0]["trigger"] == "certification_question"
    assert [t["id"] for t in lead["open_tasks"]] == [task["id"]]

    # Someone else's task: 403, and nothing changes.
    other = await http.post(f"/v1/tasks/{task['id']}/acknowledge", headers=bearer(associate))
    assert other.status_code == 403

    ack = await http.post(f"/v1/tasks/{task['id']}/acknowledge", headers=bearer(gemologist))
    assert ack.status_code == 200 and ack.json()["task"]["status"] == "acknowledged"
    done = await http.post(
        f"/v1/tasks/{task['id']}/complete",
        headers=bearer(gemologist),
        json={"outcome": "appointment_booked", "note": "Viewing on Saturday"},
    )
    assert done.status_code == 200 and done.json()["task"]["status"] == "completed"
    again = await http.post(
        f"/v1/tasks/{task['id']}/complete",
        headers=bearer(gemologist),
        json={"outcome": "appointment_booked"},
    )
    assert again.json()["duplicate"] is True
    clash = await http.post(
        f"/v1/tasks/{task['id']}/complete",
        headers=bearer(gemologist),
        json={"outcome": "wrong_number"},
    )
    assert clash.status_code == 409

    # The outcome flows back as a lead event, once.
    events = database.run(
        lambda s: s.scalars(
            select(Event).where(Event.lead_id == lead_id, Event.source == "task")
        ).all()
    )
    assert [(e.kind, e.payload["outcome"]) for e in events] == [
        ("appointment_booked", "appointment_booked")
    ]


async def test_associate_cannot_read_another_stores_lead_or_act_without_staff(
    http, database, make_store
):
    mine, theirs = make_store(), make_store()
    associate, _ = _staff_key(database, mine, StaffRole.ASSOCIATE)
    their_lead = make_lead(database, theirs)
    assert (await http.get(f"/v1/leads/{their_lead}", headers=bearer(associate))).status_code == 403

    unbound = issue_api_key(database, name="shared", role=ApiRole.ASSOCIATE, store_id=mine.id)
    answer = await http.get("/v1/tasks", headers=bearer(unbound))
    assert answer.status_code == 403 and "staff member" in answer.json()["detail"]

    missing = await http.post(f"/v1/tasks/{uuid.uuid4()}/acknowledge", headers=bearer(associate))
    assert missing.status_code == 404
    bad = await http.post(
        f"/v1/tasks/{uuid.uuid4()}/complete", headers=bearer(associate), json={"outcome": "maybe"}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "outcome"]


async def test_manager_acts_on_any_task_of_their_store(http, database, store, api_key):
    pos = api_key(ApiRole.POS)
    manager, _ = _staff_key(database, store, StaffRole.MANAGER)
    lead_id = make_lead(database, store)
    await http.post(
        f"/v1/leads/{lead_id}/events",
        headers=bearer(pos),
        json={"event_id": f"web-{uuid.uuid4()}", "kind": "appointment_requested"},
    )
    [task] = await _tasks_until(http, manager)
    assert task["role_needed"] == "associate"
    done = await http.post(
        f"/v1/tasks/{task['id']}/complete", headers=bearer(manager), json={"outcome": "contacted"}
    )
    assert done.status_code == 200
