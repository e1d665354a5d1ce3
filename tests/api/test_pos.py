"""POS hooks: purchases (once per transaction id) and custom-order job status."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from core.vocabulary import ApiRole
from db.models import Enrollment, Event, Lead, Purchase
from tests.conftest import api_client
from tests.factories import indian_mobile


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _sale(store: uuid.UUID, **changes: Any) -> dict[str, Any]:
    sale: dict[str, Any] = {
        "store_id": str(store),
        "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
        "customer": {"pos_customer_id": f"C-{uuid.uuid4().hex[:8]}", "first_name": "Meena"},
        "amount_minor": 125_000_00,
        "items": [{"name": "diamond studs", "category": "earrings"}],
    }
    sale.update(changes)
    return sale


def _count(database, model, *conditions) -> int:
    return database.run(
        lambda s: s.scalar(select(func.count()).select_from(model).where(*conditions))
    )


@pytest.fixture
async def http(dev_server, database, worker_for):
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as client,
    ):
        yield client


async def test_an_unknown_buyer_becomes_a_customer_with_a_post_purchase_journey(
    http, store, api_key, database
):
    response = await http.post(
        "/v1/pos/purchases", json=_sale(store.id), headers=_auth(api_key(ApiRole.POS))
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created_lead"] is True and body["duplicate"] is False
    assert body["post_purchase_workflow_id"] == f"journey:{body['lead_id']}:post_purchase"
    lead = database.run(lambda s: s.get_one(Lead, uuid.UUID(body["lead_id"])))
    assert (lead.source, lead.stage) == ("pos", "post_sale")


@pytest.mark.parametrize(
    "amount",
    [125_000_00, 50_000_000_00],  # ₹1.25 lakh; Rp 50 million, past PostgreSQL's 32-bit INTEGER
)
async def test_a_purchase_converts_the_leads_journey_with_its_revenue_once(
    http, store, api_key, database, dev_server, amount
):
    till = api_key(ApiRole.POS)
    phone = indian_mobile()
    lead = (
        await http.post(
            "/v1/leads",
            json={
                "store_id": str(store.id),
                "source": "walk_in",
                "phone": phone,
                "segment": "engagement",
            },
            headers=_auth(till),
        )
    ).json()
    # the till types the number without +91; a ring meets the engagement journey's goal
    sale = _sale(
        store.id,
        customer={"phone": phone[3:]},
        amount_minor=amount,
        items=[{"name": "oval solitaire", "category": "Engagement Rings"}],
    )
    first = await http.post("/v1/pos/purchases", json=sale, headers=_auth(till))
    repeat = await http.post("/v1/pos/purchases", json=sale, headers=_auth(till))

    assert first.status_code == 201 and repeat.status_code == 200
    assert first.json()["lead_id"] == lead["lead_id"]
    assert repeat.json()["purchase_id"] == first.json()["purchase_id"]
    assert first.json()["converted_journeys"] == [lead["journey_workflow_id"]]
    lead_id = uuid.UUID(lead["lead_id"])
    assert _count(database, Purchase, Purchase.lead_id == lead_id) == 1
    assert _count(database, Event, Event.lead_id == lead_id, Event.kind == "purchase") == 1
    result = await dev_server.client.get_workflow_handle(lead["journey_workflow_id"]).result()
    assert (result["status"], result["revenue_minor"]) == ("converted", amount)
    enrollment = database.run(
        lambda s: s.scalars(
            select(Enrollment).where(Enrollment.workflow_id == lead["journey_workflow_id"])
        ).one()
    )
    assert (enrollment.outcome, enrollment.revenue_minor) == ("purchase", amount)
    purchase = database.run(
        lambda s: s.scalars(select(Purchase).where(Purchase.lead_id == lead_id)).one()
    )
    assert purchase.amount_minor == amount


async def test_an_occasion_on_the_sale_starts_a_yearly_countdown(http, store, api_key, database):
    sale = _sale(store.id, occasion={"kind": "anniversary", "date": "2016-06-14"})
    body = (
        await http.post("/v1/pos/purchases", json=sale, headers=_auth(api_key(ApiRole.POS)))
    ).json()
    assert body["countdown_workflow_id"] == f"occasion:{body['lead_id']}:anniversary"
    lead = database.run(lambda s: s.get_one(Lead, uuid.UUID(body["lead_id"])))
    assert lead.occasion_dates == {"anniversary": "2016-06-14"}
    countdown = await _countdown_progress(http, body["lead_id"], api_key(ApiRole.ADMIN))
    assert countdown["progress"]["occasion_date"].endswith("-06-14")
    assert countdown["progress"]["next_due_local"].endswith("+05:30")


async def _countdown_progress(http, lead_id: str, key: str) -> dict[str, Any]:
    """The countdown's journey entry once it can say when it sends next.

    It knows that after its first activity has read the lead's time zone, a moment after
    the sale; until then `next_due_local` is null.
    """
    for _ in range(200):
        journeys = (await http.get(f"/v1/leads/{lead_id}/journeys", headers=_auth(key))).json()
        countdown = next(j for j in journeys if j["sequence_key"] == "anniversary_countdown")
        if countdown["progress"] and countdown["progress"]["next_due_local"]:
            return countdown
        await asyncio.sleep(0.05)
    raise AssertionError(f"the countdown never said when it sends next: {countdown}")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer": {"first_name": "Nobody"}}, "customer"),
        ({"customer": {"phone": "12"}}, "customer.phone"),
        ({"amount_minor": -5}, "amount_minor"),
        ({"amount_minor": 10**16}, "amount_minor"),
        ({"purchased_at": "9999-12-31T23:59:59Z"}, "purchased_at"),
        ({"purchased_at": "0001-01-01T00:00:00Z"}, "purchased_at"),
        ({"items": [{"name": "ring", "price_minor": 10**16}]}, "items.0.price_minor"),
        ({"associate_id": str(uuid.uuid4())}, "associate_id"),
        ({"store_id": str(uuid.uuid4())}, "store_id"),
        ({"currency": "rupees"}, "currency"),
    ],
)
async def test_a_bad_sale_names_the_field_and_records_nothing(
    http, store, api_key, database, change, field
):
    response = await http.post(
        "/v1/pos/purchases", json=_sale(store.id, **change), headers=_auth(api_key(ApiRole.POS))
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field.split(".")[-1]
    assert _count(database, Purchase, Purchase.store_id == store.id) == 0
    assert _count(database, Lead, Lead.store_id == store.id) == 0


async def test_only_pos_and_admin_keys_post_sales(http, store, api_key):
    for role in (ApiRole.MARKETING, ApiRole.ASSOCIATE):
        response = await http.post(
            "/v1/pos/purchases", json=_sale(store.id), headers=_auth(api_key(role))
        )
        assert response.status_code == 403


async def test_job_status_reaches_the_custom_order_journey_once(
    http, store, api_key, database, dev_server
):
    till = api_key(ApiRole.POS)
    phone = indian_mobile()
    lead = (
        await http.post(
            "/v1/leads",
            json={
                "store_id": str(store.id),
                "source": "walk_in",
                "phone": phone,
                "segment": "custom_design",
            },
            headers=_auth(till),
        )
    ).json()
    assert lead["journey_workflow_id"].endswith(":custom_order")
    status = {
        "store_id": str(store.id),
        "job_id": "J-77",
        "status": "cad_ready",
        "customer": {"phone": phone},
    }
    first = await http.post("/v1/pos/job-status", json=status, headers=_auth(till))
    repeat = await http.post("/v1/pos/job-status", json=status, headers=_auth(till))
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert first.json()["delivered_to"] == [lead["journey_workflow_id"]]
    assert repeat.json()["event_id"] == first.json()["event_id"]
    bad = await http.post(
        "/v1/pos/job-status", json={**status, "status": "Done!"}, headers=_auth(till)
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "status"


async def test_a_job_status_reusing_another_events_id_is_a_conflict(http, store, api_key, database):
    """Was a 500: the job status found the other event and read a status it did not have."""
    till = api_key(ApiRole.POS)
    phone = indian_mobile()
    lead = (
        await http.post(
            "/v1/leads",
            json={"store_id": str(store.id), "source": "walk_in", "phone": phone},
            headers=_auth(till),
        )
    ).json()
    visit = await http.post(
        f"/v1/leads/{lead['lead_id']}/events",
        json={"event_id": "shared-1", "kind": "store_visit"},
        headers=_auth(till),
    )
    assert visit.status_code == 201
    status = {
        "store_id": str(store.id),
        "job_id": "J-78",
        "status": "cad_ready",
        "customer": {"phone": phone},
        "event_id": "shared-1",
    }
    reused = await http.post("/v1/pos/job-status", json=status, headers=_auth(till))
    assert reused.status_code == 409, reused.text
    assert "shared-1" in reused.json()["detail"]

    first = await http.post(
        "/v1/pos/job-status", json={**status, "event_id": "job-1"}, headers=_auth(till)
    )
    other_status = await http.post(
        "/v1/pos/job-status",
        json={**status, "event_id": "job-1", "status": "approved"},
        headers=_auth(till),
    )
    assert (first.status_code, other_status.status_code) == (201, 409)
    lead_id = uuid.UUID(lead["lead_id"])
    assert _count(database, Event, Event.lead_id == lead_id, Event.kind == "job_status") == 1


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_an_absurd_occasion_date_on_a_sale_is_a_422_naming_it(
    http, store, api_key, database, day
):
    sale = _sale(store.id, occasion={"kind": "anniversary", "date": day})
    answer = await http.post("/v1/pos/purchases", json=sale, headers=_auth(api_key(ApiRole.POS)))

    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", "occasion", "date"]
    assert "between 1900-01-01" in problem["msg"]
    assert _count(database, Purchase, Purchase.store_id == store.id) == 0
