"""What the till tells Facet: a sale, a return, a custom job moving on.

A sale is recorded once per POS transaction id; its buyer is found (or becomes a lead) the
way every door finds a person. The lead's running journeys hear of it; it converts only those
whose goal it meets (`goal_when`: a repair leaves the engagement journey running), and its
revenue is credited once, to the converted journey that touched the lead last within the
store's attribution window. Each sale starts its own post-purchase run (a newer one ends the
running run as superseded), with a yearly countdown if the sale was for a date, and
Valigara hears of the lines whose pieces came from it (`Effects.valigara_sold`). A return
(`record_return`) takes the refunded amount back from the credited journey. A repeated
webhook finds its first result and repeats only the Temporal calls, which the journeys
deduplicate by event id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.vocabulary import LeadSource, Stage
from db.models import Enrollment, Event, Lead, Purchase, PurchaseReturn, Store
from db.repositories import (
    EnrollmentRepository,
    EventRepository,
    ProductRepository,
    PurchaseRepository,
    SequenceRepository,
    StaffRepository,
)
from db.types import utcnow
from domain.access import Actor
from domain.catalogue import VALIGARA
from domain.effects import Effects, PiecesSold, QualifyOrder, SoldPiece, Supersede
from domain.enrollment import active_journeys, plan_countdowns, plan_journey_by_key
from domain.errors import Conflict, InvalidField
from domain.events import Happening, check_same_event, happening, new_event, record_event_once
from domain.leads import Details, FoundLead, Identity, LeadIndex, find_or_create_lead
from domain.reference import Reference, StoreProfile
from qualification.scoring import spoken_money
from sequences.model import purchase_facts
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
    # Where it was sold, as the timeline shows it: "pos" (a till), "shopify_pos" (Shopify's
    # Point of Sale, in the store), "shopify_online", or a store system's own name.
    source: str = "pos"
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
    return record_sales(session, reference, actor, [sale])[0]


def record_sales(
    session: Session, reference: Reference, actor: Actor, sales: Sequence[Sale]
) -> list[SaleRecorded]:
    """Record many sales of one store in one unit of work (an import's chunk), each as
    `record_sale` records one, in order, with the same result and effects: what they need is
    read for all of them at once (the sales recorded before, their buyers, the buyers'
    running journeys and the sales' events), and the new purchases and events are inserted
    in one statement each."""
    if not sales:
        return []
    if len({sale.store_id for sale in sales}) > 1:
        raise InvalidField("store_id", "the sales of one store at a time")
    store = _store(session, reference, sales[0].store_id, actor)
    keys = [sale.pos_transaction_id for sale in sales]
    recorded = PurchaseRepository(session).by_transactions(store.id, keys)
    fresh = [sale for sale in sales if sale.pos_transaction_id not in recorded]
    _check_associates(session, store, fresh)  # a repeat answers as the first time
    index = (
        LeadIndex.loaded(session, store, [sale.buyer for sale in fresh])
        if len(fresh) > 1
        else LeadIndex(session, store.id)
    )
    batch = _Batch(
        session,
        reference,
        store,
        index,
        recorded,
        EventRepository(session).by_keys(store.id, [_sale_key(key) for key in keys]),
    )
    batch.find_buyers(fresh)
    results = [batch.record(sale) for sale in sales]
    batch.write()
    return results


def _check_associates(session: Session, store: StoreProfile, sales: Sequence[Sale]) -> None:
    for associate_id in {sale.associate_id for sale in sales if sale.associate_id is not None}:
        associate = StaffRepository(session).get(associate_id)
        if associate is None or associate.store_id != store.id:
            raise InvalidField("associate_id", "no staff member of this store has that id")


class _Batch:
    """The sales of one `record_sales` call, recorded one after another on what was read for
    all of them. Nothing here queries per sale on the common path (a new sale of history),
    so the session's rows are written together at the next flush."""

    def __init__(
        self,
        session: Session,
        reference: Reference,
        store: StoreProfile,
        index: LeadIndex,
        recorded: dict[str, Purchase],
        events: dict[str, Event],
    ) -> None:
        self.session, self.reference, self.store, self.index = session, reference, store, index
        self.recorded, self.events = recorded, events
        known = index.read_ahead()
        # Running enrollments by lead, read at once for the leads the index knew; a lead made
        # in this batch has none, and a lead whose journeys a sale planned is asked again.
        self.running: dict[uuid.UUID, list[Enrollment]] = (
            EnrollmentRepository(session).active_for_leads(known) if known else {}
        )
        self.made: set[uuid.UUID] = set()
        self.buyers: dict[str, FoundLead] = {}
        # New rows, written together by `write` (a unit of work's thousands of sales).
        self.new_purchases: list[Purchase] = []
        self.new_events: list[Event] = []

    def find_buyers(self, fresh: list[Sale]) -> None:
        """Each new sale's buyer, found or made, in order (a person twice is one lead); the
        leads made are written before the rows that refer to them."""
        for sale in fresh:
            if sale.pos_transaction_id in self.buyers:
                continue
            details = sale.buyer_details
            if sale.occasion is not None:
                kind, day = sale.occasion
                details = replace(details, occasion_dates={kind.value: day.isoformat()})
            found = find_or_create_lead(
                self.session,
                self.store,
                sale.buyer,
                details,
                source=LeadSource.POS.value,
                index=self.index,
            )
            self.buyers[sale.pos_transaction_id] = found
            if found.created:
                self.made.add(found.lead.id)
            found.lead.stage = Stage.POST_SALE
        self.index.flush()

    def write(self) -> None:
        """INSERT the new purchases and events (their leads are written already)."""
        PurchaseRepository(self.session).insert_many(self.new_purchases)
        EventRepository(self.session).insert_many(self.new_events)
        self.new_purchases, self.new_events = [], []

    def active(self, lead_id: uuid.UUID) -> list[Enrollment]:
        if lead_id in self.made:
            return []
        if lead_id not in self.running:
            return list(EnrollmentRepository(self.session).active_for_lead(lead_id))
        return self.running[lead_id]

    def record(self, sale: Sale) -> SaleRecorded:
        session, store = self.session, self.store
        purchase = self.recorded.get(sale.pos_transaction_id)
        duplicate = purchase is not None
        created_lead = False
        if purchase is None:
            buyer = self.buyers[sale.pos_transaction_id]
            lead, created_lead = buyer.lead, buyer.created
            categories = _categories(sale.items)
            facts = purchase_facts(categories, sale.amount_minor)
            converted = (
                []
                if created_lead
                else _converted_by_purchase(session, self.reference, self.active(lead.id), facts)
            )
            purchase = Purchase(
                id=uuid.uuid4(),
                store_id=store.id,
                lead_id=lead.id,
                pos_transaction_id=sale.pos_transaction_id,
                amount_minor=sale.amount_minor,
                currency=sale.currency or store.currency,
                items=sale.items,
                associate_id=sale.associate_id,
                purchased_at=sale.purchased_at or utcnow(),
                converted_journeys=converted,
                refunded_minor=0,
            )
            self.new_purchases.append(purchase)
            self.recorded[sale.pos_transaction_id] = purchase
            key = _sale_key(purchase.pos_transaction_id)
            if key not in self.events:
                self.events[key] = new_event(
                    store_id=store.id,
                    lead_id=lead.id,
                    key=key,
                    kind=EventKind.PURCHASE,
                    source=sale.source,
                    payload={
                        "pos_transaction_id": purchase.pos_transaction_id,
                        "revenue_minor": purchase.amount_minor,
                        "currency": purchase.currency,
                        "items": [str(item.get("name")) for item in sale.items],
                        **({"categories": categories} if categories is not None else {}),
                    },
                    occurred_at=purchase.purchased_at,
                )
                self.new_events.append(self.events[key])
            _credit(session, purchase, converted)
        else:
            lead = session.get_one(Lead, purchase.lead_id)
        event = self.events.get(_sale_key(purchase.pos_transaction_id))
        assert event is not None, "a sale's event is written with it"
        active = [enrollment.workflow_id for enrollment in self.active(lead.id)]
        effects = Effects()
        if active:
            heard = happening(event)
            credited = purchase.credited_workflow_id
            # Only the credited journey hears the revenue: the rest convert (if their goal is
            # met) without it, so the sale is counted once.
            effects.deliver(heard, [wid for wid in active if wid == credited])
            effects.deliver(_without_revenue(heard), [wid for wid in active if wid != credited])
        post_purchase = None
        if not sale.history:
            self.write()  # what plans the journeys below reads the sale as written
            started_by = f"purchase:{purchase.id}"
            if not duplicate or _run_started_by(session, lead.id, started_by):
                post_purchase = plan_journey_by_key(
                    session, self.reference, lead, POST_PURCHASE_SEQUENCE, started_by=started_by
                )
                # Its enrollment is now among the lead's journeys: ask the database next time.
                self.running.pop(lead.id, None)
                self.made.discard(lead.id)
            if post_purchase is not None and post_purchase.workflow_id not in active:
                effects.journeys.append(post_purchase)
                effects.supersede += [Supersede(wid, "new_run") for wid in post_purchase.supersedes]
            if sale.occasion is not None:
                effects.countdowns = plan_countdowns(
                    session, self.reference, lead, only=sale.occasion[0]
                )
                self.running.pop(lead.id, None)
                self.made.discard(lead.id)
            effects.qualify.append(QualifyOrder(lead.id, event.id))
            sold = _valigara_pieces(session, store.id, purchase.items)
            if sold:
                effects.valigara_sold.append(PiecesSold(store.id, purchase.id, sold))
        return SaleRecorded(
            purchase_id=purchase.id,
            lead_id=lead.id,
            created_lead=created_lead,
            duplicate=duplicate,
            converted_journeys=list(purchase.converted_journeys or []),
            # This sale's own post-purchase run (a repeat names the same run).
            post_purchase_workflow_id=post_purchase.workflow_id if post_purchase else None,
            countdown_workflow_id=next((c.workflow_id for c in effects.countdowns), None),
            effects=effects,
        )


def _valigara_pieces(
    session: Session, store_id: uuid.UUID, items: list[dict[str, Any]]
) -> list[SoldPiece]:
    """The sale's lines of pieces the catalogue has from Valigara (matched by SKU), with
    Valigara's product id and the quantity sold. A sale from the past (history) tells it
    nothing: Valigara's stock counted it long ago."""
    skus = {str(item["sku"]) for item in items if item.get("sku")}
    pieces = ProductRepository(session).of_source(store_id, VALIGARA, skus)
    sold = []
    for number, item in enumerate(items, start=1):
        piece = pieces.get(str(item.get("sku")))
        if piece is None or piece.external_product_id is None:
            continue
        quantity = int(item.get("qty") or item.get("quantity") or 1)
        if quantity > 0:
            line_no = int(item.get("line_no") or number)
            sold.append(SoldPiece(line_no, piece.external_product_id, quantity))
    return sold


def _categories(items: list[dict[str, Any]]) -> list[str] | None:
    """The sale's item categories; None when no item names one (the sale is not itemised)."""
    named = [str(item["category"]) for item in items if item.get("category")]
    return named or None


def _converted_by_purchase(
    session: Session, reference: Reference, running: list[Enrollment], facts: dict[str, str]
) -> list[str]:
    """The lead's running journeys whose goal this sale meets: it converts them (a
    countdown's goal ends its year, not the countdown). The journeys decide the same from
    the same facts (`Sequence.goal_reached_by`)."""
    sequences = SequenceRepository(session)
    converted = []
    for enrollment in running:
        version = sequences.get(enrollment.sequence_version_id)
        if version is None:
            continue
        sequence = reference.sequence(version)
        if sequence.occasion is None and sequence.goal_reached_by(EventKind.PURCHASE, facts):
            converted.append(enrollment.workflow_id)
    return sorted(converted)


def _credit(session: Session, purchase: Purchase, converted: list[str]) -> None:
    """Credit the sale's revenue once: to the converted journey whose last touch (a message
    that went out, or its enrollment) came latest within the store's attribution window
    before the sale. None in the window: no journey earned it."""
    if not converted:
        return
    enrollments = EnrollmentRepository(session)
    rows = [row for wid in converted if (row := enrollments.by_workflow_id(wid)) is not None]
    window = timedelta(days=session.get_one(Store, purchase.store_id).attribution_window_days)
    since, until = purchase.purchased_at - window, purchase.purchased_at
    touched = enrollments.last_reached([row.id for row in rows], since=since, until=until)

    def last_touch(row: Enrollment) -> datetime | None:
        moments = [at for at in (touched.get(row.id), row.started_at) if at and since <= at]
        return max(moments) if moments else None

    timed = [(at, row.workflow_id, row) for row in rows if (at := last_touch(row)) is not None]
    if not timed:
        return
    _, workflow_id, credited = max(timed, key=lambda item: (item[0], item[1]))
    credited.revenue_minor = (credited.revenue_minor or 0) + purchase.amount_minor
    credited.currency = purchase.currency
    purchase.credited_workflow_id = workflow_id


def _without_revenue(heard: Happening) -> Happening:
    return replace(heard, revenue_minor=None, currency=None)


def _run_started_by(session: Session, lead_id: uuid.UUID, started_by: str) -> bool:
    runs = EnrollmentRepository(session).runs(lead_id, POST_PURCHASE_SEQUENCE)
    return any(run.started_by == started_by for run in runs)


def _sale_key(pos_transaction_id: str) -> str:
    return f"pos-purchase:{pos_transaction_id}"


@dataclass(frozen=True)
class Return:
    """A refund of one POS sale, as the till (or a connector) reports it.

    `refund_id`: the refund's own id in the store system; the return is recorded once per
    refund id. `amount_minor`: what was refunded; None refunds what is left of the sale.
    """

    store_id: uuid.UUID
    pos_transaction_id: str
    refund_id: str
    amount_minor: int | None = None
    items: list[dict[str, Any]] | None = None
    returned_at: datetime | None = None


@dataclass(frozen=True)
class ReturnRecorded:
    return_id: uuid.UUID
    purchase_id: uuid.UUID
    lead_id: uuid.UUID
    duplicate: bool
    amount_minor: int  # refunded by this return
    reversed_minor: int  # revenue taken back from the credited journey
    reversed_workflow_id: str | None  # that journey (None: no journey was credited)
    refunded_minor: int  # refunded of the sale in all, this return included
    effects: Effects


def record_return(
    session: Session, reference: Reference, actor: Actor, refund: Return
) -> ReturnRecorded:
    """Record a refund of a POS sale (full or partial) once per `refund_id`, and take the
    refunded amount back from the journey the sale's revenue was credited to.

    Raises InvalidField (`store_id`, `pos_transaction_id`, `amount_minor`) for a store,
    sale or amount that does not fit — nothing is written then — and Conflict when the
    refund id was used before for another sale or amount. A repeat returns the first
    result with `duplicate=True`. The lead's timeline shows a `purchase_returned` event
    with the amount and the revenue taken back. Called by `POST /v1/pos/returns` and by
    store-system connectors (Shopify refunds, the store contract's `sale.returned`).
    """
    store = _store(session, reference, refund.store_id, actor)
    purchases = PurchaseRepository(session)
    purchase = purchases.by_transaction(store.id, refund.pos_transaction_id)
    if purchase is None:
        raise InvalidField("pos_transaction_id", "no sale with this transaction id in this store")
    earlier = purchases.return_by_refund(store.id, refund.refund_id)
    if earlier is not None:
        asked = refund.amount_minor
        if earlier.purchase_id != purchase.id or (
            asked is not None and asked != earlier.amount_minor
        ):
            raise Conflict(
                f"refund_id {refund.refund_id!r} was already used for another sale or amount; "
                "use a new refund_id"
            )
        return _return_recorded(purchase, earlier, duplicate=True)
    left = purchase.amount_minor - purchase.refunded_minor
    amount = refund.amount_minor if refund.amount_minor is not None else left
    if amount <= 0 or amount > left:
        raise InvalidField(
            "amount_minor",
            f"between 1 and {left}: what is left of the sale to refund"
            if left > 0
            else "nothing is left of this sale to refund",
        )
    reversed_minor, credited = 0, None
    if purchase.credited_workflow_id is not None:
        credited = EnrollmentRepository(session).by_workflow_id(purchase.credited_workflow_id)
    if credited is not None and credited.revenue_minor:
        reversed_minor = min(amount, credited.revenue_minor)
        credited.revenue_minor -= reversed_minor
    purchase.refunded_minor += amount
    returned_at = refund.returned_at or utcnow()
    row = purchases.add_return(
        PurchaseReturn(
            store_id=store.id,
            purchase_id=purchase.id,
            refund_id=refund.refund_id,
            amount_minor=amount,
            reversed_minor=reversed_minor,
            reversed_workflow_id=credited.workflow_id if credited is not None else None,
            items=refund.items or [],
            returned_at=returned_at,
        )
    )
    record_event_once(
        session,
        new_event(
            store_id=store.id,
            lead_id=purchase.lead_id,
            key=f"pos-return:{refund.refund_id}",
            kind=EventKind.PURCHASE_RETURNED,
            source="pos",
            payload={
                "pos_transaction_id": purchase.pos_transaction_id,
                "refund_id": refund.refund_id,
                "amount_minor": amount,
                "currency": purchase.currency,
                "revenue_reversed_minor": reversed_minor,
                "journey": row.reversed_workflow_id,
                "items": [str(item.get("name")) for item in refund.items or []],
                "note": _return_note(purchase.currency, amount, reversed_minor, credited),
            },
            occurred_at=returned_at,
        ),
    )
    return _return_recorded(purchase, row, duplicate=False)


def _return_note(
    currency: str, amount: int, reversed_minor: int, credited: Enrollment | None
) -> str:
    """What the timeline says of a refund: how much, and what it took back from which journey."""
    said = f"Refund of {spoken_money(amount, currency)}"
    if credited is None:
        return f"{said}; no journey was credited with the sale"
    journey = credited.sequence_key.replace("_", " ")
    return f"{said}; {spoken_money(reversed_minor, currency)} of revenue taken back from {journey}"


def _return_recorded(purchase: Purchase, row: PurchaseReturn, *, duplicate: bool) -> ReturnRecorded:
    return ReturnRecorded(
        return_id=row.id,
        purchase_id=purchase.id,
        lead_id=purchase.lead_id,
        duplicate=duplicate,
        amount_minor=row.amount_minor,
        reversed_minor=row.reversed_minor,
        reversed_workflow_id=row.reversed_workflow_id,
        refunded_minor=purchase.refunded_minor,
        effects=Effects(),
    )


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
