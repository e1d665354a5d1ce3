"""What the till tells Facet: a sale, a custom job moving on.

A sale is recorded once per POS transaction id; its buyer is found (or becomes a lead) the
way every door finds a person. The lead's running journeys hear of it (a purchase is most
journeys' goal), and a post-purchase journey starts, with a yearly countdown if the sale
was for a date. A repeated webhook finds its first result and repeats only the Temporal
calls, which the journeys deduplicate by event id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.vocabulary import LeadSource, Stage
from db.models import Lead, Purchase
from db.repositories import (
    EnrollmentRepository,
    EventRepository,
    PurchaseRepository,
    SequenceRepository,
    StaffRepository,
)
from db.types import utcnow
from domain.access import Actor
from domain.effects import Effects, QualifyOrder
from domain.enrollment import active_journeys, plan_countdowns, plan_journey_by_key
from domain.errors import InvalidField
from domain.events import check_same_event, happening, new_event, record_event_once
from domain.leads import Details, Identity, find_or_create_lead
from domain.reference import Reference, StoreProfile
from sequences.vocabulary import EventKind, Occasion

POST_PURCHASE_SEQUENCE = "post_purchase"


def _store(
    session: Session, reference: Reference, store_id: uuid.UUID, actor: Actor
) -> StoreProfile:
    store = reference.store(session, store_id)
    if store is None:
        raise InvalidField("store_id", f"no store with id {store_id}")
    actor.check_store(store.id)
    return store


def _buyer(
    session: Session, store: StoreProfile, who: Identity, details: Details
) -> tuple[Lead, bool]:
    found = find_or_create_lead(session, store, who, details, source=LeadSource.POS.value)
    return found.lead, found.created


@dataclass(frozen=True)
class Sale:
    """A sale as the till reports it (one transaction, its lines as `items`)."""

    store_id: uuid.UUID
    pos_transaction_id: str
    buyer: Identity
    buyer_details: Details
    amount_minor: int
    currency: str | None
    items: list[dict[str, Any]]
    associate_id: uuid.UUID | None
    purchased_at: datetime | None
    occasion: tuple[Occasion, date] | None
    # A sale from the store's past (an import of old sales): recorded, and it converts the
    # journeys running now, but it starts no post-purchase journey, countdown or rescoring
    # (a store loading five years of sales must not send five years of thank-yous today).
    history: bool = False


@dataclass(frozen=True)
class SaleRecorded:
    purchase_id: uuid.UUID
    lead_id: uuid.UUID
    created_lead: bool
    duplicate: bool
    converted_journeys: list[str]  # the journeys whose goal this sale reached
    post_purchase_workflow_id: str | None
    countdown_workflow_id: str | None
    effects: Effects


def record_sale(session: Session, reference: Reference, actor: Actor, sale: Sale) -> SaleRecorded:
    """Record the sale once; its effects: the lead's journeys hear of it, post-purchase and
    any countdown start, and qualification runs."""
    store = _store(session, reference, sale.store_id, actor)
    purchases = PurchaseRepository(session)
    purchase = purchases.by_transaction(store.id, sale.pos_transaction_id)
    duplicate = purchase is not None
    created_lead = False
    if purchase is None:
        if sale.associate_id is not None:
            associate = StaffRepository(session).get(sale.associate_id)
            if associate is None or associate.store_id != store.id:
                raise InvalidField("associate_id", "no staff member of this store has that id")
        details = sale.buyer_details
        if sale.occasion is not None:
            kind, day = sale.occasion
            details = replace(details, occasion_dates={kind.value: day.isoformat()})
        lead, created_lead = _buyer(session, store, sale.buyer, details)
        converted = [] if created_lead else _converted_by_purchase(session, reference, lead.id)
        purchase = purchases.add(
            Purchase(
                store_id=store.id,
                lead_id=lead.id,
                pos_transaction_id=sale.pos_transaction_id,
                amount_minor=sale.amount_minor,
                currency=sale.currency or store.currency,
                items=sale.items,
                associate_id=sale.associate_id,
                purchased_at=sale.purchased_at or utcnow(),
                converted_journeys=converted,
            )
        )
        record_event_once(
            session,
            new_event(
                store_id=store.id,
                lead_id=lead.id,
                key=_sale_key(purchase.pos_transaction_id),
                kind=EventKind.PURCHASE,
                source="pos",
                payload={
                    "pos_transaction_id": purchase.pos_transaction_id,
                    "revenue_minor": purchase.amount_minor,
                    "currency": purchase.currency,
                    "items": [str(item.get("name")) for item in sale.items],
                },
                occurred_at=purchase.purchased_at,
            ),
        )
        lead.stage = Stage.POST_SALE
    lead = session.get_one(Lead, purchase.lead_id)
    event = EventRepository(session).by_key(store.id, _sale_key(purchase.pos_transaction_id))
    assert event is not None, "a sale's event is written with it"
    active = active_journeys(session, lead.id)
    effects = Effects()
    effects.deliver(happening(event), active)
    if not sale.history:
        post_purchase = plan_journey_by_key(session, reference, lead, POST_PURCHASE_SEQUENCE)
        if post_purchase is not None and post_purchase.workflow_id not in active:
            effects.journeys.append(post_purchase)
        if sale.occasion is not None:
            effects.countdowns = plan_countdowns(session, reference, lead, only=sale.occasion[0])
        effects.qualify.append(QualifyOrder(lead.id, event.id))
    return SaleRecorded(
        purchase_id=purchase.id,
        lead_id=lead.id,
        created_lead=created_lead,
        duplicate=duplicate,
        converted_journeys=list(purchase.converted_journeys or []),
        post_purchase_workflow_id=next((j.workflow_id for j in effects.journeys), None),
        countdown_workflow_id=next((c.workflow_id for c in effects.countdowns), None),
        effects=effects,
    )


def _converted_by_purchase(session: Session, reference: Reference, lead_id: uuid.UUID) -> list[str]:
    """The lead's running journeys whose goal is a purchase: this sale converts them (a
    countdown's goal ends its year, not the countdown)."""
    sequences = SequenceRepository(session)
    converted = []
    for enrollment in EnrollmentRepository(session).active_for_lead(lead_id):
        version = sequences.get(enrollment.sequence_version_id)
        if version is None:
            continue
        sequence = reference.sequence(version)
        if sequence.occasion is None and sequence.goal == EventKind.PURCHASE:
            converted.append(enrollment.workflow_id)
    return sorted(converted)


def _sale_key(pos_transaction_id: str) -> str:
    return f"pos-purchase:{pos_transaction_id}"


@dataclass(frozen=True)
class JobStatusRecorded:
    event_id: uuid.UUID
    lead_id: uuid.UUID
    duplicate: bool
    effects: Effects


def record_job_status(
    session: Session,
    reference: Reference,
    actor: Actor,
    *,
    store_id: uuid.UUID,
    job_id: str,
    status: str,
    customer: Identity,
    customer_details: Details,
    event_id: str | None,
) -> JobStatusRecorded:
    """A custom order moved on (cad_ready, approved, ready, picked_up, …): recorded once, and
    told to the lead's journeys (a custom-order journey waits for these)."""
    store = _store(session, reference, store_id, actor)
    key = event_id or f"pos-job:{job_id}:{status}"
    payload = {"job_id": job_id, "status": status}
    existing = EventRepository(session).by_key(store.id, key)
    if existing is None:
        lead, _ = _buyer(session, store, customer, customer_details)
        lead_id = lead.id
    else:
        lead_id = existing.lead_id
    recorded = record_event_once(
        session,
        new_event(
            store_id=store.id,
            lead_id=lead_id,
            key=key,
            kind=EventKind.JOB_STATUS,
            source="pos",
            payload=payload,
            occurred_at=utcnow(),
        ),
    )
    check_same_event(recorded, lead_id=None, kind=EventKind.JOB_STATUS, payload=payload)
    event = recorded.event
    effects = Effects()
    effects.deliver(happening(event), active_journeys(session, event.lead_id))
    return JobStatusRecorded(
        event_id=event.id, lead_id=event.lead_id, duplicate=not recorded.new, effects=effects
    )
