"""Facet says why: a fallback from the preferred channel gives its reason, a preview for a
lead already in the journey follows that journey, and a sale names the journeys it converted.
Through the real app, a real database and a worker on Temporal's dev server."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from core.vocabulary import ApiRole
from db.models import Enrollment
from tests.api.conftest import settled_touches
from tests.conftest import bearer
from tests.factories import afternoon_zone, indian_mobile


def _lead(store_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store_id": str(store_id),
        "source": "instagram",  # she never wrote on WhatsApp: its 24-hour window is closed
        "first_name": "Asha",
        "phone": indian_mobile(),
        "email": f"asha.{uuid.uuid4().hex[:8]}@example.com",
        "segment": "engagement",
        "preferred_channel": "whatsapp",
        "consent": {"email": True, "whatsapp": True, "evidence": "Instagram lead form v2"},
        "timezone": afternoon_zone(),
    }
    body.update(overrides)
    return body


async def test_a_fallback_from_whatsapp_to_email_says_why_on_the_timeline(http, store, api_key):
    pos, staff = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    captured = (await http.post("/v1/leads", json=_lead(store.id), headers=bearer(pos))).json()

    [welcome] = await settled_touches(http, staff, captured["lead_id"])

    assert (welcome["step_id"], welcome["channel"], welcome["status"]) == (
        "welcome",
        "email",
        "outbox",
    )
    assert welcome["fell_back_from"] == "whatsapp"
    assert welcome["reason"] == "window_closed", "no approved template outside the 24 h window"


async def test_on_the_preferred_channel_there_is_no_fallback_to_explain(http, store, api_key):
    pos, staff = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    body = _lead(store.id, source="whatsapp")  # she wrote on WhatsApp: the window is open
    captured = (await http.post("/v1/leads", json=body, headers=bearer(pos))).json()

    [welcome] = await settled_touches(http, staff, captured["lead_id"])

    assert (welcome["channel"], welcome["fell_back_from"], welcome["reason"]) == (
        "whatsapp",
        None,
        None,
    )


async def test_the_preview_of_an_enrolled_lead_starts_from_its_journey(
    http, store, api_key, database
):
    pos, staff = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    marketing = api_key(ApiRole.MARKETING)
    captured = (await http.post("/v1/leads", json=_lead(store.id), headers=bearer(pos))).json()
    await settled_touches(http, staff, captured["lead_id"])  # the welcome went out
    # The journey began three days ago (as far as the preview can tell).
    began = database.run(lambda s: _started_days_ago(s, captured["journey_workflow_id"], days=3))

    answer = await http.post(
        "/v1/sequences/engagement_ring/preview",
        json={"lead_id": captured["lead_id"]},
        headers=bearer(marketing),
    )

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["journey_workflow_id"] == captured["journey_workflow_id"]
    assert datetime.fromisoformat(plan["enrolled_at"]) == began, "not from now"
    steps = {step["step_id"]: step for step in plan["steps"]}
    welcome = steps["welcome"]
    assert welcome["action"] == "done", "the welcome was sent; it is not to come"
    assert welcome["detail"].startswith("outbox (email, nothing left Facet)")
    profile = steps["complete_profile"]
    assert datetime.fromisoformat(profile["at"]) == began + timedelta(hours=1)
    upcoming = [s for s in plan["steps"] if s["action"] == "send"]
    assert all(s["step_id"] != "welcome" for s in upcoming)

    # A made-up lead (or an explicit start) is still planned from its own start.
    sample = (
        await http.post("/v1/sequences/engagement_ring/preview", json={}, headers=bearer(marketing))
    ).json()
    assert sample["journey_workflow_id"] is None
    assert sample["steps"][0]["action"] == "send"


def _started_days_ago(session, workflow_id: str, *, days: int) -> datetime:
    enrollment = session.query(Enrollment).filter_by(workflow_id=workflow_id).one()
    enrollment.started_at = enrollment.started_at - timedelta(days=days)
    return enrollment.started_at


async def test_a_repeated_sale_names_the_journeys_it_converted_not_those_it_reached(
    http, store, api_key, dev_server
):
    pos = api_key(ApiRole.POS)
    body = _lead(store.id)
    captured = (await http.post("/v1/leads", json=body, headers=bearer(pos))).json()
    sale = {
        "store_id": str(store.id),
        "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
        "customer": {"email": body["email"]},
        "amount_minor": 18_500_000,
        "items": [{"name": "solitaire ring", "category": "engagement_rings"}],
    }
    first = await http.post("/v1/pos/purchases", json=sale, headers=bearer(pos))
    assert first.status_code == 201, first.text
    journey = captured["journey_workflow_id"]
    assert first.json()["converted_journeys"] == [journey]
    result = await dev_server.client.get_workflow_handle(journey).result()
    assert result["status"] == "converted"
    # By now the journey has ended and post-purchase runs: the till posts the sale again.
    repeat = await http.post("/v1/pos/purchases", json=sale, headers=bearer(pos))

    assert repeat.status_code == 200
    assert repeat.json()["duplicate"] is True
    assert repeat.json()["converted_journeys"] == [journey], "not the post-purchase journey"

    stranger = {**sale, "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}"}
    stranger["customer"] = {"phone": indian_mobile(), "first_name": "Walk-in"}
    bought = (await http.post("/v1/pos/purchases", json=stranger, headers=bearer(pos))).json()
    assert bought["converted_journeys"] == [], "a new customer was in no journey"
