"""Attribution over HTTP: a repair leaves the engagement journey running, a ring meeting its
goal converts it with the sale's revenue, and a refund (POST /v1/pos/returns) takes the
revenue back, visibly on the lead's timeline."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import WorkflowExecutionStatus

from core.vocabulary import ApiRole, JourneyStatus
from tests.conftest import bearer
from tests.factories import indian_mobile
from workflows.journey import NurtureJourney


def _sale(store_id: uuid.UUID, phone: str, items: list[dict[str, Any]], amount: int) -> dict:
    return {
        "store_id": str(store_id),
        "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
        "customer": {"phone": phone},
        "amount_minor": amount,
        "items": items,
    }


async def _journeys(http, lead_id: str, key: str) -> dict[str, dict[str, Any]]:
    listed = (await http.get(f"/v1/leads/{lead_id}/journeys", headers=bearer(key))).json()
    return {j["workflow_id"]: j for j in listed}


async def _engaged(http, store, key: str, phone: str) -> dict[str, Any]:
    """A walk-in choosing an engagement ring: in the engagement journey."""
    body = {"store_id": str(store.id), "source": "walk_in", "phone": phone, "segment": "engagement"}
    captured = await http.post("/v1/leads", json=body, headers=bearer(key))
    assert captured.status_code == 201, captured.text
    return dict(captured.json())


async def test_a_repair_leaves_the_engagement_journey_running_and_a_ring_converts_it(
    http, store, api_key, dev_server
):
    till, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    phone = indian_mobile()
    lead = await _engaged(http, store, till, phone)
    engagement = lead["journey_workflow_id"]

    repair = await http.post(
        "/v1/pos/purchases",
        json=_sale(store.id, phone, [{"name": "re-tipping", "category": "repair"}], 2_500_00),
        headers=bearer(till),
    )
    assert repair.status_code == 201, repair.text
    assert repair.json()["converted_journeys"] == []
    handle = dev_server.client.get_workflow_handle_for(NurtureJourney.run, engagement)
    # A query sees every signal sent before it: the journey has heard of the repair.
    seen = await handle.query(NurtureJourney.status)
    assert seen.status is JourneyStatus.ACTIVE and "goal_reached" not in {
        step.status for step in seen.history
    }
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert (await _journeys(http, lead["lead_id"], associate))[engagement]["status"] == "active"

    ring = await http.post(
        "/v1/pos/purchases",
        json=_sale(store.id, phone, [{"name": "solitaire", "category": "Rings"}], 3_20_000_00),
        headers=bearer(till),
    )
    assert ring.json()["converted_journeys"] == [engagement]
    result = await handle.result()
    assert (result.status, result.revenue_minor) == ("converted", 3_20_000_00)
    journeys = await _journeys(http, lead["lead_id"], associate)
    credited = [j for j in journeys.values() if j["revenue_minor"]]
    assert [(j["workflow_id"], j["revenue_minor"]) for j in credited] == [
        (engagement, 3_20_000_00)
    ], "the ring's revenue is credited once, to the engagement journey"


async def test_a_refund_reverses_the_attribution_and_the_timeline_shows_it(
    http, store, api_key, dev_server
):
    till, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    phone = indian_mobile()
    lead = await _engaged(http, store, till, phone)
    engagement = lead["journey_workflow_id"]
    sale = _sale(store.id, phone, [{"name": "solitaire", "category": "ring"}], 2_00_000_00)
    assert (
        await http.post("/v1/pos/purchases", json=sale, headers=bearer(till))
    ).status_code == 201
    await dev_server.client.get_workflow_handle(engagement).result()

    refund = {
        "store_id": str(store.id),
        "pos_transaction_id": sale["pos_transaction_id"],
        "refund_id": f"R-{uuid.uuid4().hex[:8]}",
        "amount_minor": 50_000_00,
        "items": [{"name": "solitaire", "category": "ring"}],
    }
    first = await http.post("/v1/pos/returns", json=refund, headers=bearer(till))
    repeat = await http.post("/v1/pos/returns", json=refund, headers=bearer(till))
    assert (first.status_code, repeat.status_code) == (201, 200), first.text
    assert first.json()["revenue_reversed_minor"] == 50_000_00
    assert first.json()["reversed_workflow_id"] == engagement
    assert repeat.json()["return_id"] == first.json()["return_id"]
    journeys = await _journeys(http, lead["lead_id"], associate)
    assert journeys[engagement]["revenue_minor"] == 1_50_000_00
    assert journeys[engagement]["status"] == "converted"

    too_much = await http.post(
        "/v1/pos/returns",
        json={**refund, "refund_id": "R-more", "amount_minor": 1_60_000_00},
        headers=bearer(till),
    )
    assert too_much.status_code == 422 and "amount_minor" in too_much.text
    reused = await http.post(
        "/v1/pos/returns", json={**refund, "amount_minor": 1_000}, headers=bearer(till)
    )
    assert reused.status_code == 409
    rest = await http.post(
        "/v1/pos/returns",
        json={k: v for k, v in {**refund, "refund_id": "R-rest"}.items() if k != "amount_minor"},
        headers=bearer(till),
    )
    assert (rest.status_code, rest.json()["refunded_minor"]) == (201, 2_00_000_00)
    assert (await _journeys(http, lead["lead_id"], associate))[engagement]["revenue_minor"] == 0

    timeline = (
        await http.get(f"/v1/leads/{lead['lead_id']}/timeline", headers=bearer(associate))
    ).json()
    returns = [e for e in timeline["entries"] if e.get("kind") == "purchase_returned"]
    assert len(returns) == 2
    assert {e["payload"]["revenue_reversed_minor"] for e in returns} == {50_000_00, 1_50_000_00}
    assert all("taken back from engagement ring" in e["payload"]["note"] for e in returns)
    assert [j["revenue_minor"] for j in timeline["journeys"] if j["workflow_id"] == engagement] == [
        0
    ]


async def test_a_refund_for_an_unknown_sale_names_the_transaction(http, store, api_key):
    answer = await http.post(
        "/v1/pos/returns",
        json={"store_id": str(store.id), "pos_transaction_id": "never-sold", "refund_id": "R-9"},
        headers=bearer(api_key(ApiRole.POS)),
    )
    assert answer.status_code == 422
    assert "pos_transaction_id" in answer.text
