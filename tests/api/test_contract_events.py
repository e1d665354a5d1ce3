"""Facet's store-system contract: signed envelopes, recorded once, onto the domain."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.signature import facet_signature
from db.models import Event, IntegrationEvent, Lead, LeadExternalId, Purchase
from db.types import utcnow
from domain.integrations import issue_secret, retire_previous
from tests.factories import indian_mobile

KEY = "test-secret-that-is-not-a-placeholder"  # test_settings' SECRET_KEY
TABLES = (IntegrationEvent, Lead, LeadExternalId, Purchase, Event)


def _source(database, store, kind: str = "contract", name: str | None = None) -> tuple[str, str]:
    source = name or f"jewelmate-{uuid.uuid4().hex[:8]}"
    issued = database.run(
        lambda s: issue_secret(s, KEY, source=source, kind=kind, store_id=store.id, now=utcnow())
    )
    return source, issued.secret


def _rotate(database, store, source: str) -> str:
    return database.run(
        lambda s: issue_secret(
            s, KEY, source=source, kind="contract", store_id=store.id, now=utcnow()
        )
    ).secret


def envelope(store, event_type: str, payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "event_id": f"evt-{uuid.uuid4().hex[:12]}",
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "store_id": str(store.id),
        "source_system": "JewelMate 4.2",
        "payload": payload,
    }
    body.update(changes)
    return body


async def post(http, source: str, secret: str, body: Any, *, at: float | None = None, raw=None):
    content = raw if raw is not None else json.dumps(body).encode()
    header = facet_signature(secret, content, int(at if at is not None else time.time()))
    return await http.post(
        f"/v1/integrations/{source}/events",
        content=content,
        headers={"Content-Type": "application/json", "Facet-Signature": header},
    )


def counts(database, store) -> dict[str, int]:
    def read(s) -> dict[str, int]:
        return {
            model.__tablename__: s.scalar(
                select(func.count()).select_from(model).where(model.store_id == store.id)
            )
            for model in TABLES
        }

    return database.read(read)


def _customer(external_id: str, **more: Any) -> dict[str, Any]:
    return {"external_customer_id": external_id, "first_name": "Kavya", **more}


async def test_a_customer_upserted_then_a_sale_for_the_same_external_customer_is_one_lead(
    http, database, store
):
    source, secret = _source(database, store)
    customer = _customer("C-1042", email="kavya@example.com", birthday="1994-03-09")
    upserted = await post(http, source, secret, envelope(store, "customer.upserted", {
        "customer": customer}))  # fmt: skip
    assert upserted.status_code == 202, upserted.text
    # The till knows her only by its own id at the sale.
    sale = envelope(store, "sale.completed", {
        "external_sale_id": "S-77", "total_minor": 185_000_00, "currency": "INR",
        "customer": {"external_customer_id": "C-1042"},
        "lines": [{"line_no": 1, "title": "Solitaire ring", "sku": "R-1", "metal": "platinum",
                   "qty": 1, "unit_price_minor": 185_000_00}],
    })  # fmt: skip
    sold = await post(http, source, secret, sale)
    assert sold.status_code == 202, sold.text
    assert sold.json()["lead_id"] == upserted.json()["lead_id"]
    lead_id = uuid.UUID(upserted.json()["lead_id"])
    lead = database.read(lambda s: s.get_one(Lead, lead_id))
    assert (lead.email, lead.occasion_dates) == ("kavya@example.com", {"birthday": "1994-03-09"})
    assert counts(database, store)["lead"] == 1
    purchase = database.read(
        lambda s: s.scalars(select(Purchase).where(Purchase.lead_id == lead_id)).one()
    )
    assert (purchase.pos_transaction_id, purchase.amount_minor) == (f"{source}:S-77", 185_000_00)


async def test_an_external_id_is_matched_first_then_the_phone_then_the_email(http, database, store):
    source, secret = _source(database, store)
    phone = indian_mobile()
    by_phone = await post(http, source, secret, envelope(store, "customer.upserted", {
        "customer": _customer("C-1", phone_e164=phone)}))  # fmt: skip
    # Another system's record of the same person, known by phone: the same lead, now also C-9.
    again = await post(http, source, secret, envelope(store, "customer.upserted", {
        "customer": _customer("C-9", phone_e164=phone)}))  # fmt: skip
    assert again.json()["lead_id"] == by_phone.json()["lead_id"]
    ids = database.read(
        lambda s: s.scalars(
            select(LeadExternalId.external_id).where(LeadExternalId.store_id == store.id)
        ).all()
    )
    assert sorted(ids) == ["C-1", "C-9"]


async def test_a_redelivered_event_is_answered_as_the_first_time_and_done_once(
    http, database, store
):
    source, secret = _source(database, store)
    body = envelope(store, "visit.recorded", {"customer": _customer("C-5"), "note": "tried bands"})
    first = await post(http, source, secret, body)
    before = counts(database, store)
    second = await post(http, source, secret, body)  # the same delivery, signed again
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == {**first.json(), "duplicate": True}
    assert counts(database, store) == before
    visits = database.read(
        lambda s: s.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.store_id == store.id, Event.kind == "store_visit")
        )
    )
    assert visits == 1


def _sale(store) -> dict[str, Any]:
    return envelope(store, "sale.completed", {
        "external_sale_id": f"S-{uuid.uuid4().hex[:6]}", "total_minor": 50_000_00,
        "customer": _customer(f"C-{uuid.uuid4().hex[:6]}")})  # fmt: skip


@pytest.mark.parametrize(
    "spoil",
    ["forged body", "stale", "from the future", "wrong secret", "no signature", "unknown source"],
)
async def test_a_badly_signed_delivery_is_refused_and_records_nothing(http, database, store, spoil):
    source, secret = _source(database, store)
    body = _sale(store)
    content = json.dumps(body).encode()
    at = time.time()
    before = counts(database, store)
    if spoil == "forged body":  # signed, then the amount changed on the way
        header = facet_signature(secret, content, int(at))
        content = content.replace(b"5000000", b"9000000")
        answer = await http.post(f"/v1/integrations/{source}/events", content=content,
                                 headers={"Facet-Signature": header})  # fmt: skip
    elif spoil == "stale":  # a captured delivery replayed over five minutes later
        answer = await post(http, source, secret, body, at=at - 320)
    elif spoil == "from the future":
        answer = await post(http, source, secret, body, at=at + 320)
    elif spoil == "wrong secret":
        answer = await post(http, source, "not-the-secret", body)
    elif spoil == "no signature":
        answer = await http.post(f"/v1/integrations/{source}/events", content=content)
    else:
        answer = await post(http, f"nobody-{uuid.uuid4().hex[:6]}", secret, body)
    assert answer.status_code == 403, answer.text
    assert counts(database, store) == before


async def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(
    http, database, store
):
    source, old = _source(database, store)
    new = _rotate(database, store, source)
    assert (await post(http, source, old, _sale(store))).status_code == 202
    assert (await post(http, source, new, _sale(store))).status_code == 202
    newest = _rotate(database, store, source)  # a second rotation retires the first secret
    before = counts(database, store)
    assert (await post(http, source, old, _sale(store))).status_code == 403
    assert counts(database, store) == before
    assert (await post(http, source, new, _sale(store))).status_code == 202
    database.run(lambda s: retire_previous(s, source, utcnow()))
    before = counts(database, store)
    assert (await post(http, source, new, _sale(store))).status_code == 403
    assert counts(database, store) == before
    assert (await post(http, source, newest, _sale(store))).status_code == 202


async def test_an_envelope_for_another_store_is_refused_naming_store_id(
    http, database, store, make_store
):
    source, secret = _source(database, store)
    other = make_store()
    before = counts(database, store)
    answer = await post(http, source, secret, _sale(other))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] == "store_id"
    assert counts(database, store) == before


async def test_an_unknown_event_type_is_refused_naming_event_type(http, database, store):
    source, secret = _source(database, store)
    answer = await post(http, source, secret, envelope(store, "sale.exploded", {}))
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "event_type"]


async def test_a_returned_sale_takes_the_refund_off_its_revenue_once(http, database, store):
    source, secret = _source(database, store)
    sale = _sale(store)
    sold = await post(http, source, secret, sale)
    sale_id = sale["payload"]["external_sale_id"]
    refund = {"external_sale_id": sale_id, "amount_minor": 20_000_00, "reason": "resized"}
    body = envelope(store, "sale.returned", refund)
    returned = await post(http, source, secret, body)
    again = await post(http, source, secret, envelope(
        store, "sale.returned", {"external_sale_id": sale_id, "external_return_id":
                                 body["event_id"], "amount_minor": 20_000_00}))  # fmt: skip
    assert (returned.status_code, again.status_code) == (202, 202), again.text
    assert returned.json()["refunded_minor"] == 20_000_00
    purchase = database.read(lambda s: s.get_one(Purchase, uuid.UUID(sold.json()["purchase_id"])))
    assert (purchase.amount_minor, purchase.refunded_minor) == (50_000_00, 20_000_00)


async def test_a_return_for_a_sale_facet_never_heard_of_is_refused_and_records_nothing(
    http, database, store
):
    source, secret = _source(database, store)
    before = counts(database, store)
    answer = await post(http, source, secret, envelope(store, "sale.returned", {
        "external_sale_id": "never-sold"}))  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "external_sale_id"
    assert counts(database, store) == before


async def test_appointments_jobs_and_wishlists_land_on_the_leads_timeline(http, database, store):
    source, secret = _source(database, store)
    who = _customer(f"C-{uuid.uuid4().hex[:6]}", phone_e164=indian_mobile())
    sent = [
        envelope(store, "appointment.booked", {"customer": who,
                 "appointment_at": "2026-12-20T11:00:00+05:30"}),
        envelope(store, "job.ready", {"customer": who, "job_id": "J-9", "job_type": "repair"}),
        envelope(store, "wishlist.item_added", {"customer": who, "sku": "E-22",
                 "title": "Emerald drops"}),
        envelope(store, "appointment.no_show", {"customer": who}),
    ]  # fmt: skip
    answers = [await post(http, source, secret, body) for body in sent]
    assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
    assert len({a.json()["lead_id"] for a in answers}) == 1
    lead_id = uuid.UUID(answers[0].json()["lead_id"])
    events = database.read(
        lambda s: {
            e.kind: e.payload
            for e in s.scalars(select(Event).where(Event.lead_id == lead_id)).all()
        }
    )
    assert events["appointment_booked"]["appointment_at"].startswith("2026-12-20")
    assert (events["job_status"]["job_id"], events["job_status"]["status"]) == ("J-9", "ready")
    assert events["product_view"]["wishlist"] is True and events["product_view"]["sku"] == "E-22"
    assert events["note"]["text"] == "Did not come to the appointment"
