"""The lead routes through the real app, a real database and Temporal's dev server."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.vocabulary import ApiRole, JourneyStatus
from db.models import Consent, Enrollment, Event, Lead
from domain.reference import Reference
from domain.scoring import qualification_config, qualify_now
from tests import conftest
from tests.conftest import bearer
from tests.factories import afternoon_zone, indian_mobile
from workflows.journey import JourneyResult


def _lead_body(store: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store_id": str(store),
        "source": "whatsapp",  # they wrote to us there: WhatsApp's 24-hour window is open
        "first_name": "Asha",
        "phone": indian_mobile()[3:],  # national format: the store's country is assumed
        "email": f"Asha.{uuid.uuid4().hex[:8]}@Example.com",
        "segment": "engagement",
        "preferred_channel": "whatsapp",
        "message": "Looking for a solitaire around 1 carat",
        "consent": {"email": True, "whatsapp": True, "evidence": "WhatsApp opt-in v2"},
        "timezone": afternoon_zone(),  # inside quiet hours whenever the suite runs
    }
    body.update(overrides)
    return body


async def _wait_for_touch(http: httpx.AsyncClient, key: str, lead_id: str) -> dict[str, Any]:
    for _ in range(100):
        timeline = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(key))).json()
        touches = [entry for entry in timeline["entries"] if entry["type"] == "touch"]
        if touches and all(t["status"] not in ("claimed", "sending") for t in touches):
            return timeline
        await asyncio.sleep(0.05)
    raise AssertionError("no touch appeared on the timeline within 5 s")


def _decoded_payloads(node: Any) -> str:
    """Every payload in a workflow history, decoded to text."""
    if isinstance(node, dict):
        if "data" in node and isinstance(node["data"], str) and "metadata" in node:
            return base64.b64decode(node["data"]).decode(errors="replace")
        return " ".join(_decoded_payloads(value) for value in node.values())
    if isinstance(node, list):
        return " ".join(_decoded_payloads(value) for value in node)
    return ""


def _count(database, model, *conditions) -> int:
    return database.run(
        lambda s: s.scalar(select(func.count()).select_from(model).where(*conditions))
    )


async def test_capture_enrolls_and_welcome_appears_on_timeline(http, store, api_key, dev_server):
    key, staff = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    body = _lead_body(store.id)
    response = await http.post("/v1/leads", json=body, headers=bearer(key))

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["created"] is True
    assert created["journey_workflow_id"] == f"journey:{created['lead_id']}:engagement_ring"

    timeline = await _wait_for_touch(http, staff, created["lead_id"])
    [welcome] = [entry for entry in timeline["entries"] if entry["type"] == "touch"]
    assert (welcome["step_id"], welcome["channel"], welcome["status"]) == (
        "welcome",
        "whatsapp",
        "outbox",  # no provider configured: kept in the outbox, never shown as sent
    )
    assert welcome["provider"] == "outbox"
    assert "Hi Asha" in welcome["body"] and store.name in welcome["body"]
    assert [j["status"] for j in timeline["journeys"]] == ["active"]

    lead = (await http.get(f"/v1/leads/{created['lead_id']}", headers=bearer(staff))).json()
    assert lead["phone"] == "+91" + body["phone"]
    assert lead["email"] == body["email"].lower()
    assert {(c["channel"], c["status"], c["source"]) for c in lead["consents"]} == {
        ("email", "granted", "whatsapp"),
        ("whatsapp", "granted", "whatsapp"),
    }
    handle = dev_server.client.get_workflow_handle(created["journey_workflow_id"])
    assert (await handle.describe()).workflow_type == "NurtureJourney"
    events = json.loads((await handle.fetch_history()).to_json())
    history = _decoded_payloads(events)
    assert created["lead_id"] in history  # the payloads were decoded: ids are there
    scheduled = [
        event["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for event in events["events"]
        if "activityTaskScheduledEventAttributes" in event
    ]
    assert scheduled == ["send_message"], "the lead's facts are read by a local activity"
    for personal in (lead["phone"], lead["email"], "Asha", body["message"]):
        assert personal not in history, "personal data reached the workflow history"


async def test_a_new_leads_score_at_capture_is_what_a_full_read_of_its_history_gives(
    http, store, api_key, database
):
    """A lead created by the capture is segmented and scored from what the request just
    wrote, without reading its history back; doing it again from the database must agree."""
    key = api_key(ApiRole.ADMIN)
    body = _lead_body(
        store.id,
        source="walk_in",
        segment=None,  # the message says it
        message="Ready to buy an engagement ring this week, budget around 3 lakh",
        occasions={"anniversary": "2019-12-20"},
    )
    created = (await http.post("/v1/leads", json=body, headers=bearer(key))).json()
    lead_id = uuid.UUID(created["lead_id"])
    captured = (await http.get(f"/v1/leads/{lead_id}", headers=bearer(key))).json()
    detail = captured["score_detail"]
    assert captured["segment"] == "engagement", "the captured message names the segment"
    assert "mentions 'engagement'" in captured["segment_reason"]
    assert detail["triggers"], "saying they are ready to buy is a hard trigger"
    [event] = database.read(
        lambda s: s.scalars(select(Event).where(Event.lead_id == lead_id)).all()
    )

    def from_the_database(session) -> tuple[int, str | None, str | None, dict[str, Any]]:
        at = datetime.fromisoformat(detail["scored_at"])
        config = qualification_config(conftest.test_settings(database.url, "unused"))
        result = qualify_now(
            session, Reference(), config, lead_id=lead_id, event_id=event.id, now=at
        )
        lead = session.get_one(Lead, lead_id)
        return result.score, lead.segment, lead.segment_reason, lead.score_explanation

    score, segment, reason, explanation = database.run(from_the_database)
    assert (score, segment, reason) == (detail["value"], "engagement", captured["segment_reason"])
    parts = ("positive", "negative", "triggers")
    assert {part: explanation.get(part, []) for part in parts} == {p: detail[p] for p in parts}


async def test_a_segment_named_in_the_capture_message_starts_that_segments_journey(
    http, store, api_key
):
    """No segment on the form: the capture is scored first, finds the segment in the
    message, and enrolls the lead in that segment's journey only (no neutral welcome)."""
    key = api_key(ApiRole.ADMIN)
    body = _lead_body(
        store.id, segment=None, message="We are planning our wedding and need a bridal set"
    )
    created = (await http.post("/v1/leads", json=body, headers=bearer(key))).json()
    captured_key = created["journey_workflow_id"].rsplit(":", 1)[1]
    assert captured_key == "bridal"

    keys: set[str] = set()
    for _ in range(100):
        lead = (await http.get(f"/v1/leads/{created['lead_id']}", headers=bearer(key))).json()
        keys = {journey["sequence_key"] for journey in lead["journeys"]}
        if "bridal" in keys:
            break
        await asyncio.sleep(0.05)
    assert lead["segment"] == "bridal"
    assert keys == {"bridal"}, "one journey, the bridal one, within 5 s"


async def test_same_person_again_is_the_same_lead_and_journey(http, store, api_key, database):
    key = api_key(ApiRole.POS)
    body = _lead_body(store.id)
    first = (await http.post("/v1/leads", json=body, headers=bearer(key))).json()
    again = await http.post(
        "/v1/leads",
        json=_lead_body(store.id, phone="+91 " + body["phone"], email=None, source="walk_in"),
        headers=bearer(key),
    )

    assert again.status_code == 200
    assert again.json()["lead_id"] == first["lead_id"]
    assert again.json()["journey_workflow_id"] == first["journey_workflow_id"]
    lead_id = uuid.UUID(first["lead_id"])
    assert _count(database, Event, Event.lead_id == lead_id) == 2  # captured, then enquiry


async def test_same_lead_posted_concurrently_is_one_lead_one_journey(
    http, store, api_key, database, dev_server
):
    key = api_key(ApiRole.POS)
    body = _lead_body(store.id)
    responses = await asyncio.gather(
        *[http.post("/v1/leads", json=body, headers=bearer(key)) for _ in range(6)]
    )

    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len({r.json()["lead_id"] for r in responses}) == 1
    lead_id = uuid.UUID(responses[0].json()["lead_id"])
    assert _count(database, Lead, Lead.store_id == store.id) == 1
    assert _count(database, Enrollment, Enrollment.lead_id == lead_id) == 1
    assert _count(database, Consent, Consent.lead_id == lead_id) == 2
    workflows = [
        w
        async for w in dev_server.client.list_workflows(
            f"WorkflowId = 'journey:{lead_id}:engagement_ring'"
        )
    ]
    assert len(workflows) <= 1  # visibility may lag; the id itself admits one journey
    staff = api_key(ApiRole.ASSOCIATE, store_id=store.id)
    await _wait_for_touch(http, staff, str(lead_id))
    touches = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(staff))).json()
    assert len([e for e in touches["entries"] if e["type"] == "touch"]) == 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"phone": None, "email": None}, None, "phone or an email"),
        ({"phone": "12345"}, "phone", "not a valid phone number"),
        ({"phone": "call me maybe"}, "phone", "not a phone number"),
        ({"email": "asha@"}, "email", "not a valid email"),
        ({"store_id": str(uuid.uuid4())}, "store_id", "no store with id"),
        ({"source": "carrier_pigeon"}, "source", "web_form"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ({"favourite_colour": "gold"}, "favourite_colour", "Extra inputs"),
    ],
)
async def test_bad_capture_names_the_field_and_changes_nothing(
    http, store, api_key, database, change, field, words
):
    key = api_key(ApiRole.POS)
    response = await http.post(
        "/v1/leads", json=_lead_body(store.id, **change), headers=bearer(key)
    )

    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    if field:
        assert problem["loc"][-1] == field
    assert words in problem["msg"]
    assert _count(database, Lead, Lead.store_id == store.id) == 0


async def test_malformed_json_is_rejected(http, store, api_key):
    response = await http.post(
        "/v1/leads",
        content=b'{"store_id": ',
        headers={**bearer(api_key(ApiRole.POS)), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_keys_and_roles_are_checked(http, store, make_store, api_key, database):
    body = _lead_body(store.id)
    missing = await http.post("/v1/leads", json=body)
    unknown = await http.post("/v1/leads", json=body, headers=bearer("fct_nope_nope"))
    marketing = await http.post("/v1/leads", json=body, headers=bearer(api_key(ApiRole.MARKETING)))
    other_store = await http.post(
        "/v1/leads", json=body, headers=bearer(api_key(ApiRole.POS, store_id=make_store().id))
    )

    assert (missing.status_code, unknown.status_code) == (401, 401)
    assert "missing API key" in missing.json()["detail"]
    assert marketing.status_code == 403
    assert "role" in marketing.json()["detail"]
    assert other_store.status_code == 403
    assert _count(database, Lead, Lead.store_id == store.id) == 0


async def test_pos_key_cannot_read_leads_and_unknown_lead_is_404(http, store, make_store, api_key):
    pos, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    created = (await http.post("/v1/leads", json=_lead_body(store.id), headers=bearer(pos))).json()

    assert (
        await http.get(f"/v1/leads/{created['lead_id']}", headers=bearer(pos))
    ).status_code == 403
    ok = await http.get(f"/v1/leads/{created['lead_id']}", headers=bearer(associate))
    assert ok.status_code == 200
    missing = await http.get(f"/v1/leads/{uuid.uuid4()}", headers=bearer(associate))
    assert missing.status_code == 404
    assert "not found" in missing.json()["detail"]
    not_a_uuid = await http.get("/v1/leads/42", headers=bearer(associate))
    assert not_a_uuid.status_code == 422
    stranger = api_key(ApiRole.ASSOCIATE, store_id=make_store().id)
    assert (
        await http.get(f"/v1/leads/{created['lead_id']}/timeline", headers=bearer(stranger))
    ).status_code == 403


async def test_events_are_idempotent_by_the_callers_event_id(
    http, store, api_key, database, dev_server
):
    key = api_key(ApiRole.POS)
    created = (await http.post("/v1/leads", json=_lead_body(store.id), headers=bearer(key))).json()
    lead_id = created["lead_id"]
    await _wait_for_touch(http, api_key(ApiRole.ADMIN), lead_id)
    purchase = {
        "event_id": f"till-7:{uuid.uuid4().hex[:8]}",
        "kind": "purchase",
        "revenue_minor": 9_500_000,
        "payload": {"items": ["solitaire ring"]},
    }

    first = await http.post(f"/v1/leads/{lead_id}/events", json=purchase, headers=bearer(key))
    second = await http.post(f"/v1/leads/{lead_id}/events", json=purchase, headers=bearer(key))
    reused = await http.post(
        f"/v1/leads/{lead_id}/events", json={**purchase, "kind": "store_visit"}, headers=bearer(key)
    )

    assert (first.status_code, second.status_code, reused.status_code) == (201, 200, 409)
    assert first.json()["event_id"] == second.json()["event_id"]
    assert first.json()["delivered_to"] == [created["journey_workflow_id"]]
    assert (
        _count(database, Event, Event.lead_id == uuid.UUID(lead_id), Event.kind == "purchase") == 1
    )

    handle = dev_server.client.get_workflow_handle(
        created["journey_workflow_id"], result_type=JourneyResult
    )
    assert (await handle.result()).status is JourneyStatus.CONVERTED
    assert (await http.get(f"/v1/leads/{lead_id}", headers=bearer(key))).status_code == 403

    admin = api_key(ApiRole.ADMIN)
    view = (await http.get(f"/v1/leads/{lead_id}", headers=bearer(admin))).json()
    [journey] = view["journeys"]
    assert (journey["status"], journey["revenue_minor"], journey["currency"]) == (
        "converted",
        9_500_000,
        "INR",
    )


async def test_unknown_lead_and_bad_event_are_rejected(http, store, api_key):
    key = api_key(ApiRole.POS)
    unknown = await http.post(
        f"/v1/leads/{uuid.uuid4()}/events",
        json={"event_id": "x", "kind": "store_visit"},
        headers=bearer(key),
    )
    assert unknown.status_code == 404
    created = (await http.post("/v1/leads", json=_lead_body(store.id), headers=bearer(key))).json()
    bad_kind = await http.post(
        f"/v1/leads/{created['lead_id']}/events",
        json={"event_id": "x", "kind": "teleported"},
        headers=bearer(key),
    )
    assert bad_kind.status_code == 422
    assert bad_kind.json()["detail"][0]["loc"] == ["body", "kind"]
    too_much = await http.post(
        f"/v1/leads/{created['lead_id']}/events",
        json={"event_id": "y", "kind": "purchase", "revenue_minor": 10**19},
        headers=bearer(key),
    )
    assert too_much.status_code == 422
    assert too_much.json()["detail"][0]["loc"] == ["body", "revenue_minor"]
    from_the_future = await http.post(
        f"/v1/leads/{created['lead_id']}/events",
        json={"event_id": "z", "kind": "store_visit", "occurred_at": "9999-12-31T23:59:59Z"},
        headers=bearer(key),
    )
    assert from_the_future.status_code == 422
    assert from_the_future.json()["detail"][0]["loc"] == ["body", "occurred_at"]
    assert "future" in from_the_future.json()["detail"][0]["msg"]
