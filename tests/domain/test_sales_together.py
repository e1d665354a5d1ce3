"""Many sales recorded together (an import's unit of work) come out exactly as the same sales
recorded one at a time by the till's webhook: the same buyers found or made, the same journeys
converted and credited, the same post-purchase runs planned, and a repeat changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from core.vocabulary import ApiRole
from db.models import Enrollment, Event, Lead, LeadExternalId, Purchase
from domain.access import Actor
from domain.leads import Details, Identity
from domain.purchases import Sale, SaleRecorded, record_sale, record_sales
from domain.reference import Reference
from tests.factories import enroll, indian_mobile, make_lead

RING = [{"name": "oval solitaire", "category": "engagement_ring"}]


def _sale(store_id: uuid.UUID, transaction: str, buyer: Identity, amount: int) -> Sale:
    return Sale(
        store_id=store_id,
        pos_transaction_id=transaction,
        buyer=buyer,
        buyer_details=Details(first_name="Buyer"),
        amount_minor=amount,
        currency="INR",
        items=RING,
        associate_id=None,
        purchased_at=None,
        occasion=None,
    )


def _scenario(database, store) -> tuple[list[Sale], dict[uuid.UUID, str], dict[str, str]]:
    """A known lead in an engagement journey, a sale recorded before, and five sales: the known
    lead's ring, a newcomer with an external id, the newcomer again by that id alone, the sale
    recorded before, and the known lead's ring repeated."""
    known_phone = indian_mobile()
    known = make_lead(database, store, phone=known_phone)
    engagement, _ = enroll(database, known, key="engagement_ring")
    tag = uuid.uuid4().hex[:6]
    earlier = _sale(store.id, f"{tag}-0", Identity(phone=indian_mobile()), 10_000_00)
    database.run(lambda s: record_sale(s, Reference(), _till(store), earlier))
    newcomer = Identity(phone=indian_mobile(), external=("jewelmate", f"C-{tag}"))
    sales = [
        _sale(store.id, f"{tag}-1", Identity(phone=known_phone), 1_85_000_00),
        _sale(store.id, f"{tag}-2", newcomer, 45_000_00),
        _sale(store.id, f"{tag}-3", Identity(external=("jewelmate", f"C-{tag}")), 22_000_00),
        earlier,
        _sale(store.id, f"{tag}-1", Identity(phone=known_phone), 1_85_000_00),
    ]
    return sales, {known: "known"}, {engagement: "engagement"}


def _till(store) -> Actor:
    return Actor(uuid.uuid4(), "till", ApiRole.POS, store.id, None)


def _seen(results: list[SaleRecorded], leads: dict[uuid.UUID, str], journeys: dict[str, str]):
    """What a person would compare: whose sale, new or repeated, what it converted, which
    journeys hear it, what starts (lead and workflow ids named by role, not by value)."""
    names = dict(leads)
    purchases: dict[uuid.UUID, str] = {}
    for result in results:
        names.setdefault(result.lead_id, f"new-{len(names)}")
        purchases.setdefault(result.purchase_id, f"purchase-{len(purchases)}")

    def journey(workflow_id: str) -> str:
        if workflow_id in journeys:
            return journeys[workflow_id]
        for lead_id, name in names.items():
            workflow_id = workflow_id.replace(str(lead_id), name)
        return workflow_id

    def described(result: SaleRecorded) -> dict[str, Any]:
        effects = result.effects
        return {
            "lead": names[result.lead_id],
            "purchase": purchases[result.purchase_id],
            "created_lead": result.created_lead,
            "duplicate": result.duplicate,
            "converted": [journey(wid) for wid in result.converted_journeys],
            "heard": [
                (sorted(journey(wid) for wid in d.workflow_ids), d.event.revenue_minor)
                for d in effects.deliveries
            ],
            "starts": [j.sequence.key for j in effects.journeys],
            "post_purchase": result.post_purchase_workflow_id is not None,
            "qualify": len(effects.qualify),
        }

    return [described(result) for result in results]


def _counts(database, store) -> dict[str, int]:
    def count(model, *where) -> int:
        return database.read(
            lambda s: s.scalar(select(func.count()).select_from(model).where(*where))
        )

    return {
        "leads": count(Lead, Lead.store_id == store.id),
        "purchases": count(Purchase, Purchase.store_id == store.id),
        "purchase events": count(Event, Event.store_id == store.id, Event.kind == "purchase"),
        "external ids": count(LeadExternalId, LeadExternalId.store_id == store.id),
        "enrollments": database.read(
            lambda s: s.scalar(
                select(func.count())
                .select_from(Enrollment)
                .join(Lead, Lead.id == Enrollment.lead_id)
                .where(Lead.store_id == store.id)
            )
        ),
        "revenue credited": database.read(
            lambda s: s.scalar(
                select(func.coalesce(func.sum(Enrollment.revenue_minor), 0))
                .join(Lead, Lead.id == Enrollment.lead_id)
                .where(Lead.store_id == store.id)
            )
        ),
    }


def test_sales_recorded_together_come_out_as_the_same_sales_recorded_one_by_one(
    database, make_store
):
    one_by_one, together = make_store(), make_store()

    sales, leads, journeys = _scenario(database, one_by_one)
    each = [
        database.run(lambda s, sale=sale: record_sale(s, Reference(), _till(one_by_one), sale))
        for sale in sales
    ]
    sales_b, leads_b, journeys_b = _scenario(database, together)
    batch = database.run(lambda s: record_sales(s, Reference(), _till(together), sales_b))

    assert _seen(batch, leads_b, journeys_b) == _seen(each, leads, journeys)
    assert _counts(database, together) == _counts(database, one_by_one)

    seen = _seen(batch, leads_b, journeys_b)
    # The known lead's ring converts its engagement journey, which alone hears the revenue.
    assert seen[0]["converted"] == ["engagement"]
    assert ([], 1_85_000_00) not in seen[0]["heard"]
    assert (["engagement"], 1_85_000_00) in seen[0]["heard"]
    # The newcomer is made once and found again by the external id alone.
    assert (seen[1]["created_lead"], seen[2]["created_lead"]) == (True, False)
    assert seen[1]["lead"] == seen[2]["lead"]
    # The sale recorded before, and the ring repeated in the same batch, change nothing.
    assert [s["duplicate"] for s in seen] == [False, False, False, True, True]
    assert seen[4]["purchase"] == seen[0]["purchase"]
    assert _counts(database, together)["purchases"] == 4
    assert _counts(database, together)["revenue credited"] == 1_85_000_00
    assert all(s["post_purchase"] for s in seen[:3]), "each new sale plans its post-purchase run"


def test_sales_recorded_again_together_change_nothing(database, store):
    sales, _, _ = _scenario(database, store)
    database.run(lambda s: record_sales(s, Reference(), _till(store), sales))
    before = _counts(database, store)
    again = database.run(lambda s: record_sales(s, Reference(), _till(store), sales))
    assert all(result.duplicate for result in again)
    assert _counts(database, store) == before
