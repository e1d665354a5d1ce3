"""A lead goes through a sequence more than once, as the sequence says, on the time-skipping
server through the API:
- every purchase gets its own post-purchase run (its own thank-you); the newer run ends the
  running one as superseded;
- a returning enquiry after an unconverted journey starts a fresh run once the sequence's
  `reenter_after` has passed, and not before; the journeys list shows every run.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from core.vocabulary import ApiRole, JourneyStatus, TaskStatus
from core.workflow_ids import task_workflow_id
from db.models import Enrollment, Task
from tests.conftest import api_client, bearer
from tests.factories import enrollment, indian_mobile, skip_ahead, touches

IST = ZoneInfo("Asia/Kolkata")


async def _late_morning(env: WorkflowEnvironment) -> None:
    """Skip to 11:00 in India, so sends are inside every window."""
    now = (await env.get_current_time()).astimezone(IST)
    eleven = now.replace(hour=11, minute=0, second=0, microsecond=0)
    await env.sleep((eleven if eleven > now else eleven + timedelta(days=1)) - now)


def _sale(store_id: uuid.UUID, customer: dict[str, str], **changes: Any) -> dict[str, Any]:
    return {
        "store_id": str(store_id),
        "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
        "customer": customer,
        "amount_minor": 85_000_00,
        "items": [{"name": "gold chain", "category": "chain"}],
        **changes,
    }


async def test_a_second_purchase_six_months_later_gets_its_own_thank_you(
    time_skipping, database, store, api_key, worker_for
):
    env = time_skipping
    await _late_morning(env)
    till, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    manager = api_key(ApiRole.ADMIN)
    customer = {"phone": indian_mobile(), "email": f"ira.{uuid.uuid4().hex[:6]}@example.com"}
    async with (
        worker_for(env.client) as task_queue,
        api_client(database, env.client, task_queue) as http,
    ):
        first = await http.post(
            "/v1/pos/purchases", json=_sale(store.id, customer), headers=bearer(till)
        )
        assert first.status_code == 201, first.text
        lead_id = first.json()["lead_id"]
        first_run = f"journey:{lead_id}:post_purchase"
        assert first.json()["post_purchase_workflow_id"] == first_run
        await skip_ahead(env, timedelta(hours=3))

        # Six months on, the first run still cares for her.
        await skip_ahead(env, timedelta(days=182))
        assert enrollment(database, first_run).status is JourneyStatus.ACTIVE
        for task_id in _open_tasks(database, uuid.UUID(lead_id)):  # the six-month call, made
            done = await http.post(
                f"/v1/tasks/{task_id}/complete",
                json={"outcome": "contacted", "note": "Loves the chain; asked about earrings"},
                headers=bearer(manager),
            )
            assert done.status_code == 200, done.text
            await env.client.get_workflow_handle(task_workflow_id(task_id)).result()
        sale = _sale(store.id, customer, items=[{"name": "ruby earrings", "category": "earrings"}])
        second = await http.post("/v1/pos/purchases", json=sale, headers=bearer(till))
        again = await http.post("/v1/pos/purchases", json=sale, headers=bearer(till))
        assert second.status_code == 201, second.text
        second_run = f"journey:{lead_id}:post_purchase:2"
        assert second.json()["post_purchase_workflow_id"] == second_run
        assert (again.status_code, again.json()["post_purchase_workflow_id"]) == (200, second_run)
        ended = await env.client.get_workflow_handle(first_run).result()
        assert (ended["status"], ended["outcome"]) == ("superseded", "new_run")
        await skip_ahead(env, timedelta(hours=3))
        journeys = (
            await http.get(f"/v1/leads/{lead_id}/journeys", headers=bearer(associate))
        ).json()

    runs = {j["workflow_id"]: j for j in journeys if j["sequence_key"] == "post_purchase"}
    assert sorted(runs) == [first_run, second_run], "a retried webhook starts no third run"
    assert (runs[first_run]["run"], runs[first_run]["status"]) == (1, "superseded")
    assert (runs[second_run]["run"], runs[second_run]["status"]) == (2, "active")
    assert enrollment(database, first_run).outcome == "new_run"

    rows = {e: enrollment(database, e).id for e in (first_run, second_run)}
    thank_yous = [t for t in touches(database, uuid.UUID(lead_id)) if t.step_id == "thank_you"]
    assert sorted(str(t.enrollment_id) for t in thank_yous) == sorted(map(str, rows.values()))
    assert all(t.status == "outbox" for t in thank_yous), [(t.status, t.reason) for t in thank_yous]
    # The superseded run sends nothing more: none of its steps after the second sale.
    later = [
        t
        for t in touches(database, uuid.UUID(lead_id))
        if t.enrollment_id == rows[first_run] and t.created_at > thank_yous[-1].created_at
    ]
    assert later == []


def _open_tasks(database, lead_id: uuid.UUID) -> list[uuid.UUID]:
    return database.run(
        lambda s: list(
            s.scalars(
                select(Task.id).where(Task.lead_id == lead_id, Task.status == TaskStatus.OPEN)
            )
        )
    )


def _end_days_ago(database, workflow_id: str, days: int) -> None:
    def backdate(session) -> None:
        row = session.query(Enrollment).filter_by(workflow_id=workflow_id).one()
        assert row.ended_at is not None
        row.ended_at = row.ended_at - timedelta(days=days)

    database.run(backdate)


async def test_a_returning_enquiry_after_an_unconverted_journey_starts_a_fresh_run(
    time_skipping, database, store, api_key, worker_for
):
    env = time_skipping
    await _late_morning(env)
    associate = api_key(ApiRole.ASSOCIATE, store_id=store.id)
    phone = indian_mobile()

    def enquiry(message: str) -> dict[str, Any]:
        return {
            "store_id": str(store.id),
            "source": "web_form",
            "phone": phone,
            "segment": "engagement",
            "message": message,
        }

    async with (
        worker_for(env.client) as task_queue,
        api_client(database, env.client, task_queue) as http,
    ):
        captured = (
            await http.post(
                "/v1/leads", json=enquiry("A solitaire, about one carat"), headers=bearer(associate)
            )
        ).json()
        lead_id, first_run = captured["lead_id"], captured["journey_workflow_id"]
        assert first_run == f"journey:{lead_id}:engagement_ring"
        # 75 days of it, then the proposal-season note on the next 1 December: no purchase.
        await env.sleep(timedelta(days=370))
        assert enrollment(database, first_run).status is JourneyStatus.COMPLETED

        # Ten days after it ended (sequence: reenter_after 30 days) she asks again: no new run.
        _end_days_ago(database, first_run, 10)
        early = (
            await http.post(
                "/v1/leads", json=enquiry("Still thinking about an oval"), headers=bearer(associate)
            )
        ).json()
        assert (early["journey_workflow_id"], early["journey_status"]) == (first_run, "completed")

        # A month and more after it ended she comes back: a fresh run, with its own welcome.
        _end_days_ago(database, first_run, 25)
        back = (
            await http.post(
                "/v1/leads", json=enquiry("Ready to choose a ring now"), headers=bearer(associate)
            )
        ).json()
        second_run = f"journey:{lead_id}:engagement_ring:2"
        assert (back["journey_workflow_id"], back["journey_status"]) == (second_run, "active")
        await env.sleep(timedelta(minutes=5))
        journeys = (
            await http.get(f"/v1/leads/{lead_id}/journeys", headers=bearer(associate))
        ).json()
        page = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(associate))).json()

    engagement = [
        (j["workflow_id"], j["run"], j["status"])
        for j in journeys
        if j["sequence_key"] == "engagement_ring"
    ]
    assert engagement == [(first_run, 1, "completed"), (second_run, 2, "active")]
    listed = [j["workflow_id"] for j in page["journeys"] if j["sequence_key"] == "engagement_ring"]
    assert listed == [first_run, second_run]
    second_row = enrollment(database, second_run).id
    welcomes = [t for t in touches(database, uuid.UUID(lead_id)) if t.step_id == "welcome"]
    assert second_row in {t.enrollment_id for t in welcomes}
