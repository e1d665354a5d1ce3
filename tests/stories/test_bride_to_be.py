"""The seed story, end to end through the API, on the time-skipping server.

A bride-to-be enquires through an Instagram form and hears back on WhatsApp at once; she
visits the store days later and the associate sees her preferences on the timeline; the
reminders go on; two weeks later she buys with her mother at the till (POS webhook): she gets
a thank-you, joins the gifting campaign, and a referral note a month on — and nothing more
from the engagement journey.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.vocabulary import ApiRole
from db.models import Enrollment
from tests.conftest import api_client
from tests.factories import indian_mobile, set_caps, touches

IST = ZoneInfo("Asia/Kolkata")
APPROVED_WELCOME = {"engagement/welcome": "HX" + "0" * 31 + "1"}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_bride_to_be_from_instagram_to_purchase_and_beyond(
    time_skipping, database, store, api_key, worker_for
):
    env = time_skipping
    set_caps(database, store, per_day=2, per_week=5)
    now = (await env.get_current_time()).astimezone(IST)
    eleven = now.replace(hour=11, minute=0, second=0, microsecond=0)
    await env.sleep((eleven if eleven > now else eleven + timedelta(days=1)) - now)
    till, associate = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    manager = api_key(ApiRole.ADMIN)
    phone = indian_mobile()

    async with (
        worker_for(env.client, whatsapp_content_sids=APPROVED_WELCOME) as task_queue,
        api_client(database, env.client, task_queue) as http,
    ):
        # 1. The Instagram lead form.
        captured = await http.post(
            "/v1/leads",
            headers=_auth(till),
            json={
                "store_id": str(store.id),
                "source": "instagram",
                "first_name": "Ananya",
                "phone": phone,
                "email": f"ananya.{uuid.uuid4().hex[:6]}@example.com",
                "segment": "engagement",
                "preferred_channel": "whatsapp",
                "message": "Looking for a solitaire engagement ring, about 1 carat",
                "consent": {"whatsapp": True, "email": True, "sms": True, "evidence": "IG form"},
            },
        )
        assert captured.status_code == 201, captured.text
        lead_id = captured.json()["lead_id"]
        journey_id = captured.json()["journey_workflow_id"]
        assert journey_id.endswith(":engagement_ring")
        await env.sleep(timedelta(minutes=1))
        [welcome] = touches(database, uuid.UUID(lead_id))
        expected = ("welcome", "whatsapp", "outbox")  # no provider: kept in the outbox
        assert (welcome.step_id, welcome.channel, welcome.status) == expected
        assert welcome.content_sid == APPROVED_WELCOME["engagement/welcome"]  # outside the window

        # 2. Three days later she visits; the associate records what she liked.
        await env.sleep(timedelta(days=3))
        visit = await http.post(
            f"/v1/leads/{lead_id}/events",
            headers=_auth(associate),
            json={
                "event_id": f"visit-{uuid.uuid4().hex[:8]}",
                "kind": "store_visit",
                "payload": {"preferences": "oval cut, platinum band, 1 ct, budget 3-4 lakh"},
            },
        )
        assert visit.status_code == 201
        timeline = (
            await http.get(f"/v1/leads/{lead_id}/timeline", headers=_auth(associate))
        ).json()
        visits = [e for e in timeline["entries"] if e.get("kind") == "store_visit"]
        assert visits[0]["payload"]["preferences"].startswith("oval cut")

        # 3. Reminders go on, and the store follows up: its people complete their tasks.
        await env.sleep(timedelta(days=9))
        listed = await http.get(
            "/v1/tasks", params={"store_id": str(store.id)}, headers=_auth(manager)
        )
        mine = [t for t in listed.json()["tasks"] if t["lead_id"] == lead_id]
        assert {t["kind"] for t in mine} >= {"complete_profile"}
        for task in mine:
            done = await http.post(
                f"/v1/tasks/{task['id']}/complete",
                json={"outcome": "contacted", "note": "Called; she will come with her mother"},
                headers=_auth(manager),
            )
            assert done.status_code == 200, done.text

        # Two weeks after the enquiry she buys, with her mother.
        await env.sleep(timedelta(days=2))
        before_purchase = {t.step_id for t in touches(database, uuid.UUID(lead_id))}
        assert {"diamond_grades", "shortlist_on_hold"} <= before_purchase
        sale = {
            "store_id": str(store.id),
            "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
            "customer": {"phone": phone, "first_name": "Ananya"},
            "amount_minor": 385_000_00,
            "items": [
                {"name": "oval solitaire ring", "category": "engagement"},
                {"name": "gold bangles for her mother", "category": "gifting"},
            ],
        }
        bought = await http.post("/v1/pos/purchases", headers=_auth(till), json=sale)
        assert bought.status_code == 201, bought.text
        assert bought.json()["lead_id"] == lead_id
        assert journey_id in bought.json()["converted_journeys"]
        again = await http.post("/v1/pos/purchases", headers=_auth(till), json=sale)
        assert (again.status_code, again.json()["duplicate"]) == (200, True)

        # 4. A month on: thank-you, gifting campaign, referral — and the engagement journey done.
        await env.sleep(timedelta(days=32))
        journeys = (
            await http.get(f"/v1/leads/{lead_id}/journeys", headers=_auth(associate))
        ).json()

    by_key = {j["sequence_key"]: j for j in journeys}
    engagement = by_key["engagement_ring"]
    assert (engagement["status"], engagement["revenue_minor"]) == ("converted", 385_000_00)
    assert by_key["post_purchase"]["status"] == "active"
    assert by_key["festive_diwali"]["status"] == "active"  # the gifting campaign

    rows = touches(database, uuid.UUID(lead_id))
    enrollments = {
        e.sequence_key: e.id
        for e in database.run(
            lambda s: s.scalars(
                select(Enrollment).where(Enrollment.lead_id == uuid.UUID(lead_id))
            ).all()
        )
    }
    engagement_steps = {
        t.step_id for t in rows if t.enrollment_id == enrollments["engagement_ring"]
    }
    assert engagement_steps == before_purchase  # nothing from the engagement journey afterwards
    after = {t.step_id: t for t in rows if t.enrollment_id == enrollments["post_purchase"]}
    assert after["thank_you"].status == "outbox"
    assert "oval solitaire ring" in (after["thank_you"].body or "")
    assert after["referral"].status == "outbox"
