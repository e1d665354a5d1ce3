"""Consent over HTTP: the ledger's history on the timeline, a WhatsApp STOP that a re-posted
capture cannot undo (while email and receipts go on), and opt-outs staff record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.vocabulary import ApiRole
from domain.consent import unsubscribe_token
from sequences.vocabulary import Channel
from tests.api.test_webhooks import PUBLIC, TOKEN, inbound, twilio_post
from tests.conftest import api_client, bearer
from tests.factories import indian_mobile, make_lead, touches

IST = ZoneInfo("Asia/Kolkata")
SECRET = "test-secret-that-is-not-a-placeholder"  # tests.conftest.test_settings'
TWILIO = {
    "public_base_url": PUBLIC,
    "twilio_account_sid": "AC" + "1" * 32,
    "twilio_auth_token": TOKEN,
}
APPROVED_WELCOME = {"engagement/welcome": "HX" + "0" * 31 + "2"}


def _form(store_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "store_id": str(store_id),
        "source": "instagram",
        "first_name": "Ananya",
        "phone": indian_mobile(),
        "email": f"ananya.{uuid.uuid4().hex[:6]}@example.com",
        "timezone": "Asia/Kolkata",
        "message": "Looking for a solitaire engagement ring",
    }
    form.update(changes)
    return form


def _a_minute_ago() -> str:
    return (datetime.now(UTC) - timedelta(minutes=1)).isoformat()


async def test_grant_revoke_and_regrant_show_on_the_timeline_with_their_evidence(
    dev_server, database, store, api_key, worker_for
):
    key = api_key(ApiRole.ADMIN)
    first = _form(
        store.id,
        consent={"email": True, "evidence": "Newsletter box v1", "submitted_at": _a_minute_ago()},
    )
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as http,
    ):
        created = await http.post("/v1/leads", json=first, headers=bearer(key))
        assert created.status_code == 201, created.text
        lead_id = created.json()["lead_id"]
        token = unsubscribe_token(SECRET, uuid.UUID(lead_id))
        left = await http.post(
            f"/v1/unsubscribe/{token}",
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert left.status_code == 200
        resent = await http.post("/v1/leads", json=first, headers=bearer(key))  # a retry
        back = {
            **first,
            "message": "Back for the anniversary collection",
            "consent": {
                "email": True,
                "evidence": "Newsletter box v2",
                "submitted_at": datetime.now(UTC).isoformat(),
            },
        }
        regranted = await http.post("/v1/leads", json=back, headers=bearer(key))
        timeline = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(key))).json()
        lead = (await http.get(f"/v1/leads/{lead_id}", headers=bearer(key))).json()

    assert (resent.status_code, regranted.status_code) == (200, 200)
    assert [
        (c["channel"], c["purpose"], c["status"], c["captured_by"], c["evidence"])
        for c in timeline["consent"]
    ] == [
        ("email", "marketing", "granted", "form", "Newsletter box v1"),
        ("email", "marketing", "revoked", "link", "the unsubscribe link in an email"),
        ("email", "marketing", "granted", "form", "Newsletter box v2"),
    ]
    assert [(c["channel"], c["status"]) for c in lead["consents"]] == [("email", "granted")]


async def test_whatsapp_stop_survives_the_capture_posted_again_and_email_and_receipts_go_on(
    time_skipping, database, store, api_key, worker_for
):
    env = time_skipping
    now = (await env.get_current_time()).astimezone(IST)
    eleven = now.replace(hour=11, minute=0, second=0, microsecond=0)
    await env.sleep((eleven if eleven > now else eleven + timedelta(days=1)) - now)
    till, staff = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    original = _form(
        store.id,
        segment="engagement",
        preferred_channel="whatsapp",
        consent={
            "email": True,
            "whatsapp": True,
            "evidence": "IG lead form v2",
            "submitted_at": _a_minute_ago(),
        },
    )

    async with (
        worker_for(env.client, whatsapp_content_sids=APPROVED_WELCOME) as task_queue,
        api_client(database, env.client, task_queue, **TWILIO) as http,
    ):
        captured = await http.post("/v1/leads", json=original, headers=bearer(till))
        assert captured.status_code == 201, captured.text
        lead_id = uuid.UUID(captured.json()["lead_id"])
        await env.sleep(timedelta(minutes=1))
        [welcome] = touches(database, lead_id)
        assert (welcome.channel, welcome.status) == ("whatsapp", "outbox")

        stop = await twilio_post(
            http, "/v1/webhooks/twilio/inbound", inbound(original["phone"], "STOP", whatsapp=True)
        )
        assert stop.status_code == 200
        every_box = {**original["consent"], "email": True, "sms": True, "whatsapp": True}
        again = await http.post(
            "/v1/leads", json={**original, "consent": every_box}, headers=bearer(till)
        )
        assert (again.status_code, again.json()["lead_id"]) == (200, str(lead_id))

        await env.sleep(timedelta(days=5))  # the diamond guide (email), the shortlist (preferred)
        journeys = (await http.get(f"/v1/leads/{lead_id}/journeys", headers=bearer(staff))).json()
        # The store's people close their tasks before the sale (as in the bride-to-be story:
        # on the time-skipping server a task's workflow ending after its journey's stalls time).
        manager = api_key(ApiRole.ADMIN)
        listed = await http.get(
            "/v1/tasks", params={"store_id": str(store.id)}, headers=bearer(manager)
        )
        for task in [t for t in listed.json()["tasks"] if t["lead_id"] == str(lead_id)]:
            done = await http.post(
                f"/v1/tasks/{task['id']}/complete",
                json={"outcome": "contacted"},
                headers=bearer(manager),
            )
            assert done.status_code == 200, done.text
        sale = {
            "store_id": str(store.id),
            "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
            "customer": {"phone": original["phone"]},
            "amount_minor": 385_000_00,
            "items": [{"name": "oval solitaire ring", "category": "engagement"}],
        }
        bought = await http.post("/v1/pos/purchases", json=sale, headers=bearer(till))
        assert bought.status_code == 201, bought.text
        await env.sleep(timedelta(hours=3))  # the thank-you, a receipt, at +2 h
        timeline = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(staff))).json()

    assert {j["sequence_key"]: j["status"] for j in journeys}["engagement_ring"] == "active"
    sent = {t.step_id: t for t in touches(database, lead_id) if t.status == "outbox"}
    assert [step for step, t in sent.items() if t.channel == "whatsapp"] == ["welcome"]
    assert sent["diamond_grades"].channel == "email"
    shortlist, thanks = sent["shortlist_on_hold"], sent["thank_you"]
    assert (shortlist.channel, shortlist.fell_back_from, shortlist.reason) == (
        "email",
        "whatsapp",
        "opted_out",
    )
    assert (thanks.channel, thanks.purpose, thanks.fell_back_from) == (
        "email",
        "transactional",
        "whatsapp",
    )
    whatsapp = [c for c in timeline["consent"] if c["channel"] == "whatsapp"]
    assert [(c["purpose"], c["status"]) for c in whatsapp] == [
        ("marketing", "granted"),
        ("marketing", "revoked"),
        ("transactional", "revoked"),
    ]
    assert whatsapp[1]["captured_by"] == "webhook" and whatsapp[1]["evidence"] == "STOP"


async def test_an_opted_out_event_staff_record_writes_the_ledger_and_a_bad_channel_changes_nothing(
    dev_server, database, store, api_key, worker_for
):
    lead_id = make_lead(database, store, consent=[Channel.EMAIL, Channel.SMS])
    key = api_key(ApiRole.ASSOCIATE, store_id=store.id)
    url = f"/v1/leads/{lead_id}/events"

    def opted_out(**payload: str) -> dict[str, Any]:
        return {"event_id": f"call-{uuid.uuid4().hex[:8]}", "kind": "opted_out", "payload": payload}

    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as http,
    ):
        bad = await http.post(url, json=opted_out(channel="fax"), headers=bearer(key))
        before = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(key))).json()
        sms = await http.post(
            url,
            json=opted_out(channel="sms", note="Asked on the phone: no texts"),
            headers=bearer(key),
        )
        everything = await http.post(url, json=opted_out(), headers=bearer(key))
        after = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(key))).json()

    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "payload", "channel"]
    assert before["entries"] == [] and len(before["consent"]) == 2  # the two grants only
    assert (sms.status_code, everything.status_code) == (201, 201)
    recorded = [
        (c["channel"], c["purpose"], c["status"], c["captured_by"], c["evidence"])
        for c in after["consent"][2:]
    ]
    assert recorded[:2] == [
        ("sms", "marketing", "revoked", "staff", "Asked on the phone: no texts"),
        ("sms", "transactional", "revoked", "staff", "Asked on the phone: no texts"),
    ]
    # With no channel named, a full opt-out: marketing everywhere; receipts still go by email.
    assert {(c[0], c[1], c[2]) for c in recorded[2:]} == {
        ("email", "marketing", "revoked"),
        ("whatsapp", "marketing", "revoked"),
    }
    assert all(c["captured_by_name"] for c in after["consent"][2:])
