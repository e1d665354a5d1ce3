"""Shopify's webhooks: a Point of Sale order converts the buyer's journey; a refund takes its
revenue back; a redelivery changes nothing; a badly signed or stale delivery is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.vocabulary import ApiRole
from db.models import Enrollment, Event, Lead, LeadExternalId, Purchase
from tests.api.test_contract_events import _source, counts
from tests.conftest import bearer
from tests.factories import indian_mobile


def _shop() -> str:
    return f"gems-{uuid.uuid4().hex[:6]}.myshopify.com"


def _sign(secret: str, content: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha256).digest()).decode()


async def deliver(http, shop: str, secret: str, topic: str, body: Any, *, webhook_id=None,
                  triggered=None, content=None):  # fmt: skip
    content = content if content is not None else json.dumps(body).encode()
    return await http.post(
        "/v1/integrations/shopify/webhooks",
        content=content,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": (triggered or datetime.now(UTC)).isoformat(),
            "X-Shopify-Hmac-Sha256": _sign(secret, content),
            "X-Shopify-API-Version": "2025-10",
        },
    )


def order(phone: str, *, source_name: str = "pos", total: str = "1250.00") -> dict[str, Any]:
    order_id = int(uuid.uuid4().int % 10**12)
    return {
        "id": order_id,
        "name": f"#{order_id % 10000}",
        "source_name": source_name,
        "total_price": total,
        "currency": "INR",
        "financial_status": "paid",
        "created_at": datetime.now(UTC).isoformat(),
        "customer": {"id": order_id + 1, "phone": phone, "first_name": "Nila"},
        "line_items": [{"title": "Solitaire ring", "sku": "R-18K-1", "quantity": 1,
                        "price": total}],
        "tags": "", "note_attributes": [],  # Shopify sends much more: ignored
    }  # fmt: skip


async def test_a_pos_order_converts_the_buyers_journey_and_a_refund_takes_the_revenue_back(
    http, store, api_key, database, dev_server
):
    shop = _shop()
    _, secret = _source(database, store, kind="shopify", name=f"shopify:{shop}")
    phone = indian_mobile()
    lead = (
        await http.post(
            "/v1/leads",
            json={"store_id": str(store.id), "source": "walk_in", "phone": phone,
                  "segment": "engagement"},
            headers=bearer(api_key(ApiRole.POS)),
        )
    ).json()  # fmt: skip
    journey = lead["journey_workflow_id"]
    sale = order(phone, total="125000.00")
    webhook_id = str(uuid.uuid4())
    first = await deliver(http, shop, secret, "orders/create", sale, webhook_id=webhook_id)
    assert first.status_code == 200, first.text
    assert first.json()["in_store"] is True
    assert first.json()["lead_id"] == lead["lead_id"]
    assert first.json()["converted_journeys"] == [journey]
    result = await dev_server.client.get_workflow_handle(journey).result()
    assert (result["status"], result["revenue_minor"]) == ("converted", 125_000_00)
    post_purchase = f"journey:{lead['lead_id']}:post_purchase"
    assert (await dev_server.client.get_workflow_handle(post_purchase).describe()).status
    lead_id = uuid.UUID(lead["lead_id"])
    sold = database.read(
        lambda s: s.scalars(
            select(Event).where(Event.lead_id == lead_id, Event.kind == "purchase")
        ).one()
    )
    assert sold.source == "shopify_pos"  # rung up in the store, not online

    # Shopify delivers the same webhook again, and sends orders/updated for the same order.
    before = counts(database, store)
    again = await deliver(http, shop, secret, "orders/create", sale, webhook_id=webhook_id)
    updated = await deliver(http, shop, secret, "orders/updated", sale)
    assert again.json() == {**first.json(), "duplicate": True}
    assert updated.json()["purchase_id"] == first.json()["purchase_id"]
    after = counts(database, store)
    assert after["purchase"] == before["purchase"] and after["event"] == before["event"]

    refund = {"id": 9001, "order_id": sale["id"], "created_at": datetime.now(UTC).isoformat(),
              "note": "changed her mind", "transactions": [
                  {"amount": "125000.00", "kind": "refund", "status": "success"}]}  # fmt: skip
    refund_id = str(uuid.uuid4())
    refunded = await deliver(http, shop, secret, "refunds/create", refund, webhook_id=refund_id)
    assert refunded.status_code == 200, refunded.text
    await deliver(http, shop, secret, "refunds/create", refund, webhook_id=refund_id)
    await deliver(http, shop, secret, "refunds/create", refund)  # another delivery id, same refund
    purchase = database.read(
        lambda s: s.scalars(select(Purchase).where(Purchase.lead_id == lead_id)).one()
    )
    assert purchase.refunded_minor == 125_000_00
    enrollment = database.read(
        lambda s: s.scalars(select(Enrollment).where(Enrollment.workflow_id == journey)).one()
    )
    assert enrollment.revenue_minor == 0


async def test_an_online_customer_becomes_a_lead_known_by_the_shopify_id(http, store, database):
    shop = _shop()
    _, secret = _source(database, store, kind="shopify", name=f"shopify:{shop}")
    customer = {"id": 7_207_119_551, "email": "Nila@Example.com", "first_name": "Nila"}
    answer = await deliver(http, shop, secret, "customers/create", customer)
    assert answer.status_code == 200, answer.text
    lead = database.read(lambda s: s.get_one(Lead, uuid.UUID(answer.json()["lead_id"])))
    assert (lead.email, lead.source) == ("nila@example.com", "shopify")
    # Her first online order, by her Shopify id alone, finds the same lead.
    sale = order(indian_mobile(), source_name="web")
    sale["customer"] = {"id": 7_207_119_551}
    bought = await deliver(http, shop, secret, "orders/create", sale)
    assert bought.json()["lead_id"] == str(lead.id) and bought.json()["in_store"] is False
    known = database.read(
        lambda s: s.scalars(
            select(LeadExternalId.external_id).where(LeadExternalId.lead_id == lead.id)
        ).all()
    )
    assert known == ["7207119551"]


@pytest.mark.parametrize(
    "spoil", ["forged", "stale", "from the future", "wrong secret", "other shop", "no hmac"]
)
async def test_a_badly_signed_or_stale_shopify_delivery_is_refused_and_records_nothing(
    http, store, database, spoil
):
    shop = _shop()
    _, secret = _source(database, store, kind="shopify", name=f"shopify:{shop}")
    sale = order(indian_mobile())
    content = json.dumps(sale).encode()
    before = counts(database, store)
    if spoil == "forged":
        signed = _sign(secret, content)
        answer = await http.post(
            "/v1/integrations/shopify/webhooks",
            content=content.replace(b"1250.00", b"1.00"),
            headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": shop,
                     "X-Shopify-Webhook-Id": "w-1", "X-Shopify-Hmac-Sha256": signed,
                     "X-Shopify-Triggered-At": datetime.now(UTC).isoformat()},
        )  # fmt: skip
    elif spoil == "stale":  # past Shopify's 4 hours of retries: only a replay is this old
        old = datetime.now(UTC) - timedelta(hours=5, minutes=1)
        answer = await deliver(http, shop, secret, "orders/create", sale, triggered=old)
    elif spoil == "from the future":
        ahead = datetime.now(UTC) + timedelta(minutes=6)
        answer = await deliver(http, shop, secret, "orders/create", sale, triggered=ahead)
    elif spoil == "wrong secret":
        answer = await deliver(http, shop, "another-apps-secret", "orders/create", sale)
    elif spoil == "other shop":
        answer = await deliver(http, _shop(), secret, "orders/create", sale)
    else:
        answer = await http.post(
            "/v1/integrations/shopify/webhooks", content=content,
            headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": shop},
        )  # fmt: skip
    assert answer.status_code == 403, answer.text
    assert counts(database, store) == before


async def test_a_rotated_shopify_secret_and_its_predecessor_both_verify(http, store, database):
    from db.types import utcnow
    from domain.integrations import issue_secret

    shop = _shop()
    source, old = _source(database, store, kind="shopify", name=f"shopify:{shop}")
    new = database.run(
        lambda s: issue_secret(
            s, "test-secret-that-is-not-a-placeholder", source=source, kind="shopify",
            store_id=store.id, now=utcnow(), given="shpss_the-new-app-secret")
    ).secret  # fmt: skip
    assert new == "shpss_the-new-app-secret"
    for secret in (old, new):
        answer = await deliver(http, shop, secret, "orders/create", order(indian_mobile()))
        assert answer.status_code == 200, answer.text
