"""A sale comes back: a refund, recorded once, takes its revenue off what the sale earned.

Written for the store-system doors (the contract's `sale.returned`, Shopify's
`refunds/create`) while h15-journeys builds `domain.purchases.record_return`; the lead
engineer reconciles the two at merge (same idea: the refund is recorded once by its id, the
purchase keeps what came back, and the journeys the sale converted lose that revenue).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Enrollment
from db.repositories import PurchaseRepository
from domain.access import Actor
from domain.errors import InvalidField, NotFound
from domain.events import new_event, record_event_once
from domain.reference import Reference
from sequences.vocabulary import EventKind


@dataclass(frozen=True)
class SaleReturn:
    store_id: uuid.UUID
    pos_transaction_id: str  # the sale's id as recorded
    return_id: str  # the refund's own id: a second delivery of it changes nothing
    amount_minor: int | None  # None: the whole sale
    source: str
    occurred_at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class ReturnRecorded:
    purchase_id: uuid.UUID
    lead_id: uuid.UUID
    duplicate: bool
    refunded_minor: int  # of the sale, in total, after this refund
    revenue_left_minor: int


def record_sale_return(
    session: Session, reference: Reference, actor: Actor, returned: SaleReturn
) -> ReturnRecorded:
    """Record the refund once: the purchase's refunded total grows (never past the sale),
    and each journey the sale converted loses that much of its revenue."""
    store = reference.store(session, returned.store_id)
    if store is None:
        raise InvalidField("store_id", f"no store with id {returned.store_id}")
    actor.check_store(store.id)
    if returned.amount_minor is not None and returned.amount_minor < 0:
        raise InvalidField("amount_minor", "a refund of zero or more")
    purchase = PurchaseRepository(session).by_transaction(store.id, returned.pos_transaction_id)
    if purchase is None:
        raise NotFound(f"sale {returned.pos_transaction_id!r}")
    left = purchase.amount_minor - purchase.refunded_minor
    amount = left if returned.amount_minor is None else min(returned.amount_minor, left)
    recorded = record_event_once(
        session,
        new_event(
            store_id=store.id,
            lead_id=purchase.lead_id,
            key=f"sale-return:{returned.return_id}",
            kind=EventKind.NOTE,
            source=returned.source,
            payload={
                "text": "Returned part of a purchase" if amount < left else "Returned a purchase",
                "returned": True,
                "pos_transaction_id": purchase.pos_transaction_id,
                "refund_minor": amount,
                "currency": purchase.currency,
                **({"reason": returned.reason} if returned.reason else {}),
            },
            occurred_at=returned.occurred_at,
        ),
    )
    if recorded.new and amount > 0:
        purchase.refunded_minor += amount
        converted = list(purchase.converted_journeys or [])
        if converted:
            for enrollment in session.scalars(
                select(Enrollment).where(Enrollment.workflow_id.in_(converted))
            ):
                if enrollment.revenue_minor is not None:
                    enrollment.revenue_minor = max(0, enrollment.revenue_minor - amount)
    return ReturnRecorded(
        purchase_id=purchase.id,
        lead_id=purchase.lead_id,
        duplicate=not recorded.new,
        refunded_minor=purchase.refunded_minor,
        revenue_left_minor=purchase.amount_minor - purchase.refunded_minor,
    )
