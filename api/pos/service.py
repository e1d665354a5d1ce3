"""Purchases and job status from the POS: recorded once, told to the lead's journeys.

A repeated webhook finds its first result (by POS transaction id, or job id + status) and
repeats only the Temporal calls, which the journeys deduplicate by event id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api import journeys, qualification
from api.auth import Principal
from api.enrollment import EnrollmentPlan, launch, plan_countdowns, plan_journey_by_key
from api.errors import conflict, field_error, unavailable
from api.identity import normalise_phone
from api.pos.schemas import Customer, JobStatusIn, JobStatusRecorded, PurchaseIn, PurchaseRecorded
from api.writes import write_once
from core.settings import Settings
from core.vocabulary import LeadSource, Stage
from core.workflow_ids import occasion_workflow_id
from db.models import Event, Lead, Purchase, Store
from db.repositories import (
    EnrollmentRepository,
    EventRepository,
    LeadRepository,
    PurchaseRepository,
    StaffRepository,
    StoreRepository,
)
from db.session import Database
from db.types import utcnow
from sequences.vocabulary import EventKind
from workflows.journey_model import JourneyEvent

POST_PURCHASE_SEQUENCE = "post_purchase"


def _store(session: Session, store_id: uuid.UUID, principal: Principal) -> Store:
    store = StoreRepository(session).get(store_id)
    if store is None:
        raise field_error("store_id", f"no store with id {store_id}")
    principal.check_store(store.id)
    return store


def resolve_customer(session: Session, store: Store, customer: Customer) -> tuple[Lead, bool]:
    """The store's lead for this buyer — by POS id, then phone, then email — or a new one."""
    leads = LeadRepository(session)
    phone = (
        normalise_phone(customer.phone, store.country, field="customer.phone")
        if customer.phone
        else None
    )
    lead = None
    if customer.pos_customer_id:
        lead = leads.by_pos_customer(store.id, customer.pos_customer_id)
    lead = lead or leads.find_by_identity(store.id, phone_e164=phone, email=customer.email)
    if lead is not None:
        if customer.pos_customer_id and not lead.pos_customer_id:
            lead.pos_customer_id = customer.pos_customer_id
        return lead, False
    lead = leads.add(
        Lead(
            store_id=store.id,
            first_name=customer.first_name,
            last_name=customer.last_name,
            phone_e164=phone,
            email=customer.email,
            pos_customer_id=customer.pos_customer_id,
            timezone=store.timezone,
            language=store.locale,
            source=LeadSource.POS.value,
        )
    )
    return lead, True


@dataclass(frozen=True)
class _PurchasePlan:
    purchase_id: uuid.UUID
    lead_id: uuid.UUID
    created_lead: bool
    duplicate: bool
    event: JourneyEvent
    active_journeys: list[str]
    enrollment: EnrollmentPlan


def _record_purchase(session: Session, body: PurchaseIn, principal: Principal) -> _PurchasePlan:
    store = _store(session, body.store_id, principal)
    purchases = PurchaseRepository(session)
    purchase = purchases.by_transaction(store.id, body.pos_transaction_id)
    duplicate = purchase is not None
    created_lead = False
    if purchase is None:
        if body.associate_id is not None:
            associate = StaffRepository(session).get(body.associate_id)
            if associate is None or associate.store_id != store.id:
                raise field_error("associate_id", "no staff member of this store has that id")
        lead, created_lead = resolve_customer(session, store, body.customer)
        purchase = purchases.add(
            Purchase(
                store_id=store.id,
                lead_id=lead.id,
                pos_transaction_id=body.pos_transaction_id,
                amount_minor=body.amount_minor,
                currency=body.currency or store.currency,
                items=[item.model_dump(exclude_none=True) for item in body.items],
                associate_id=body.associate_id,
                purchased_at=body.purchased_at or utcnow(),
            )
        )
        EventRepository(session).add(
            Event(
                store_id=store.id,
                lead_id=lead.id,
                kind=EventKind.PURCHASE.value,
                source="pos",
                payload={
                    "pos_transaction_id": purchase.pos_transaction_id,
                    "revenue_minor": purchase.amount_minor,
                    "currency": purchase.currency,
                    "items": [item.name for item in body.items],
                },
                occurred_at=purchase.purchased_at,
                idempotency_key=f"pos-purchase:{purchase.pos_transaction_id}",
            )
        )
        lead.stage = Stage.POST_SALE
        if body.occasion is not None:
            lead.occasion_dates = {
                **lead.occasion_dates,
                body.occasion.kind.value: body.occasion.date.isoformat(),
            }
    lead = session.get_one(Lead, purchase.lead_id)
    event = EventRepository(session).by_key(store.id, f"pos-purchase:{purchase.pos_transaction_id}")
    assert event is not None
    active = [e.workflow_id for e in EnrollmentRepository(session).active_for_lead(lead.id)]
    plan = EnrollmentPlan()
    post_purchase = plan_journey_by_key(session, lead, POST_PURCHASE_SEQUENCE)
    if post_purchase is not None and post_purchase.workflow_id not in active:
        plan.journeys.append(post_purchase)
    if body.occasion is not None:
        countdown_id = occasion_workflow_id(lead.id, body.occasion.kind)
        plan.countdowns = [
            c for c in plan_countdowns(session, lead) if c.workflow_id == countdown_id
        ]
    return _PurchasePlan(
        purchase_id=purchase.id,
        lead_id=lead.id,
        created_lead=created_lead,
        duplicate=duplicate,
        event=JourneyEvent(
            event_id=event.id,
            kind=EventKind.PURCHASE,
            occurred_at=purchase.purchased_at,
            revenue_minor=purchase.amount_minor,
            currency=purchase.currency,
        ),
        active_journeys=active,
        enrollment=plan,
    )


async def record_purchase(
    body: PurchaseIn,
    principal: Principal,
    *,
    database: Database,
    temporal: Client,
    settings: Settings,
) -> PurchaseRecorded:
    """Record the sale; convert the lead's journeys; start post-purchase and any countdown."""

    def work(session: Session) -> _PurchasePlan:
        return _record_purchase(session, body, principal)

    plan = await write_once(database, work)
    try:
        converted = await journeys.deliver(temporal, plan.active_journeys, plan.event)
        await launch(temporal, settings.temporal_task_queue, plan.enrollment)
        await qualification.qualify(
            temporal,
            task_queue=settings.temporal_task_queue,
            lead_id=plan.lead_id,
            event_id=plan.event.event_id,
        )
    except RPCError as error:
        raise unavailable(
            f"purchase {body.pos_transaction_id} is saved but the lead's journeys could not be "
            f"reached ({error.message}); send the same request again"
        ) from error
    return PurchaseRecorded(
        purchase_id=plan.purchase_id,
        lead_id=plan.lead_id,
        created_lead=plan.created_lead,
        duplicate=plan.duplicate,
        converted_journeys=[wid for wid in converted if wid.startswith("journey:")],
        post_purchase_workflow_id=next((j.workflow_id for j in plan.enrollment.journeys), None),
        countdown_workflow_id=next((c.workflow_id for c in plan.enrollment.countdowns), None),
    )


@dataclass(frozen=True)
class _JobPlan:
    event: JourneyEvent
    lead_id: uuid.UUID
    duplicate: bool
    journeys: list[str]


def _record_job_status(session: Session, body: JobStatusIn, principal: Principal) -> _JobPlan:
    store = _store(session, body.store_id, principal)
    key = body.event_id or f"pos-job:{body.job_id}:{body.status}"
    events = EventRepository(session)
    event = events.by_key(store.id, key)
    duplicate = event is not None
    if event is None:
        lead, _ = resolve_customer(session, store, body.customer)
        event = events.add(
            Event(
                store_id=store.id,
                lead_id=lead.id,
                kind=EventKind.JOB_STATUS.value,
                source="pos",
                payload={"job_id": body.job_id, "status": body.status},
                occurred_at=utcnow(),
                idempotency_key=key,
            )
        )
    elif event.kind != EventKind.JOB_STATUS.value or event.payload != {
        "job_id": body.job_id,
        "status": body.status,
    }:
        raise conflict(
            f"event_id {key!r} was already used for a different event; use a new event_id"
        )
    active = [e.workflow_id for e in EnrollmentRepository(session).active_for_lead(event.lead_id)]
    return _JobPlan(
        event=JourneyEvent(
            event_id=event.id,
            kind=EventKind.JOB_STATUS,
            occurred_at=event.occurred_at,
            facts={"status": str(event.payload["status"]), "job_id": str(event.payload["job_id"])},
        ),
        lead_id=event.lead_id,
        duplicate=duplicate,
        journeys=active,
    )


async def record_job_status(
    body: JobStatusIn, principal: Principal, *, database: Database, temporal: Client
) -> JobStatusRecorded:
    """Record a custom job's new status once and tell the lead's journeys."""

    def work(session: Session) -> _JobPlan:
        return _record_job_status(session, body, principal)

    plan = await write_once(database, work)
    try:
        delivered = await journeys.deliver(temporal, plan.journeys, plan.event)
    except RPCError as error:
        raise unavailable(
            f"job status saved but journeys could not be reached ({error.message}); "
            "send the same request again"
        ) from error
    return JobStatusRecorded(
        event_id=plan.event.event_id,
        lead_id=plan.lead_id,
        duplicate=plan.duplicate,
        delivered_to=delivered,
    )
