"""Attribution in the domain, on the real database: a sale converts only the journeys whose
goal it meets, its revenue is credited once (to the converted journey touched last within the
store's window), and a refund takes it back, once per refund id."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from core.vocabulary import ApiRole, TouchStatus
from db.models import Enrollment, Lead, Purchase, Store, Touch
from db.types import utcnow
from domain.access import Actor
from domain.errors import Conflict, InvalidField
from domain.leads import Details, Identity
from domain.purchases import Return, Sale, record_return, record_sale
from domain.reference import Reference
from sequences.vocabulary import Channel, Purpose
from tests.factories import enroll, make_lead

RING = [{"name": "oval solitaire", "category": "engagement_ring"}]
REPAIR = [{"name": "re-tipping prongs", "category": "repair"}]


def _till(store) -> Actor:
    return Actor(uuid.uuid4(), "till", ApiRole.POS, store.id, None)


def _sale(database, store, lead_id: uuid.UUID, items: list[dict[str, Any]], amount: int):
    phone = database.read(lambda s: s.get_one(Lead, lead_id).phone_e164)
    sale = Sale(
        store_id=store.id,
        pos_transaction_id=f"T-{uuid.uuid4().hex[:10]}",
        buyer=Identity(phone=phone),
        buyer_details=Details(),
        amount_minor=amount,
        currency="INR",
        items=items,
        associate_id=None,
        purchased_at=None,
        occasion=None,
    )
    return database.run(lambda s: record_sale(s, Reference(), _till(store), sale))


def _transaction(database, purchase_id: uuid.UUID) -> str:
    return database.read(lambda s: s.get_one(Purchase, purchase_id).pos_transaction_id)


def _started(database, workflow_id: str, days_ago: float) -> uuid.UUID:
    def backdate(session) -> uuid.UUID:
        row = session.query(Enrollment).filter_by(workflow_id=workflow_id).one()
        row.started_at = utcnow() - timedelta(days=days_ago)
        return row.id

    return database.run(backdate)


def _touched(database, lead_id, enrollment_id, days_ago: float, status=TouchStatus.SENT) -> None:
    database.run(
        lambda s: s.add(
            Touch(
                lead_id=lead_id,
                store_id=s.get_one(Lead, lead_id).store_id,
                enrollment_id=enrollment_id,
                step_id=f"step_{uuid.uuid4().hex[:6]}",
                channel=Channel.EMAIL,
                purpose=Purpose.MARKETING,
                template="engagement/diamond_grades",
                idempotency_key=uuid.uuid4().hex,
                status=status,
                created_at=utcnow() - timedelta(days=days_ago),
            )
        )
    )


def _revenue(database, workflow_id: str) -> int | None:
    return database.read(
        lambda s: s.query(Enrollment).filter_by(workflow_id=workflow_id).one().revenue_minor
    )


def test_a_repair_converts_nothing_and_a_ring_converts_only_the_journeys_it_meets(database, store):
    lead_id = make_lead(database, store)
    engagement, _ = enroll(database, lead_id, key="engagement_ring")
    welcome, _ = enroll(database, lead_id, key="engagement_welcome")  # any purchase reaches it

    repair = _sale(database, store, lead_id, REPAIR, 2_500_00)
    assert repair.converted_journeys == [welcome]
    ring = _sale(database, store, lead_id, RING, 1_85_000_00)
    assert engagement in ring.converted_journeys


def test_the_revenue_goes_once_to_the_journey_touched_last_within_the_window(database, store):
    lead_id = make_lead(database, store)
    engagement, _ = enroll(database, lead_id, key="engagement_ring")
    welcome, _ = enroll(database, lead_id, key="engagement_welcome")
    engagement_row = _started(database, engagement, days_ago=50)
    welcome_row = _started(database, welcome, days_ago=50)
    _touched(database, lead_id, engagement_row, days_ago=3)
    _touched(database, lead_id, welcome_row, days_ago=8)
    _touched(database, lead_id, welcome_row, days_ago=1, status=TouchStatus.SUPPRESSED)

    sold = _sale(database, store, lead_id, RING, 1_85_000_00)

    assert sorted(sold.converted_journeys) == sorted([engagement, welcome])
    assert (_revenue(database, engagement), _revenue(database, welcome)) == (1_85_000_00, None)
    [credited] = [d for d in sold.effects.deliveries if d.event.revenue_minor is not None]
    assert credited.workflow_ids == [engagement], "only the credited journey hears the revenue"


def test_a_touch_outside_the_stores_window_earns_nothing(database, store):
    database.run(lambda s: setattr(s.get_one(Store, store.id), "attribution_window_days", 7))
    lead_id = make_lead(database, store)
    engagement, _ = enroll(database, lead_id, key="engagement_ring")
    welcome, _ = enroll(database, lead_id, key="engagement_welcome")
    _touched(database, lead_id, _started(database, engagement, days_ago=40), days_ago=10)
    _touched(database, lead_id, _started(database, welcome, days_ago=40), days_ago=5)

    _sale(database, store, lead_id, RING, 90_000_00)
    assert (_revenue(database, engagement), _revenue(database, welcome)) == (None, 90_000_00)

    lead_id = make_lead(database, store)
    stale, _ = enroll(database, lead_id, key="engagement_ring")
    _touched(database, lead_id, _started(database, stale, days_ago=40), days_ago=10)
    unearned = _sale(database, store, lead_id, RING, 90_000_00)
    assert unearned.converted_journeys == [stale]
    assert _revenue(database, stale) is None, "converted, but nothing within the window earned it"


def test_a_refund_takes_the_credited_revenue_back_once_per_refund_id(database, store):
    lead_id = make_lead(database, store)
    engagement, _ = enroll(database, lead_id, key="engagement_ring")
    sold = _sale(database, store, lead_id, RING, 2_00_000_00)
    assert _revenue(database, engagement) == 2_00_000_00  # credited at once
    pos_id = _transaction(database, sold.purchase_id)

    def refund(refund_id: str, amount: int | None):
        ask = Return(
            store_id=store.id, pos_transaction_id=pos_id, refund_id=refund_id, amount_minor=amount
        )
        return database.run(lambda s: record_return(s, Reference(), _till(store), ask))

    part = refund("R-1", 50_000_00)
    assert (part.reversed_minor, part.reversed_workflow_id) == (50_000_00, engagement)
    assert _revenue(database, engagement) == 1_50_000_00
    again = refund("R-1", 50_000_00)
    assert again.duplicate and _revenue(database, engagement) == 1_50_000_00
    with pytest.raises(Conflict):
        refund("R-1", 10_000_00)
    with pytest.raises(InvalidField) as too_much:
        refund("R-2", 1_60_000_00)
    assert too_much.value.field == "amount_minor"
    rest = refund("R-3", None)
    assert (rest.amount_minor, rest.refunded_minor) == (1_50_000_00, 2_00_000_00)
    assert _revenue(database, engagement) == 0
    with pytest.raises(InvalidField):
        refund("R-4", None)
