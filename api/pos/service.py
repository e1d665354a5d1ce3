"""Purchases and job status from the POS: the domain records them once, then Temporal hears.

A repeated webhook finds its first result (by POS transaction id, or job id + status) and
repeats only the Temporal calls, which the journeys deduplicate by event id.
"""

from __future__ import annotations

from api.deps import Backend
from api.pos.schemas import (
    Customer,
    JobStatusIn,
    JobStatusRecorded,
    PurchaseIn,
    PurchaseRecorded,
    ReturnIn,
    ReturnRecorded,
)
from api.writes import write_once
from domain import purchases
from domain.access import Actor
from domain.leads import Details, Identity


def _buyer(customer: Customer) -> tuple[Identity, Details]:
    return (
        Identity(
            phone=customer.phone,
            email=customer.email,
            pos_customer_id=customer.pos_customer_id,
            phone_field="customer.phone",
        ),
        Details(first_name=customer.first_name, last_name=customer.last_name),
    )


async def record_purchase(body: PurchaseIn, actor: Actor, backend: Backend) -> PurchaseRecorded:
    """Record the sale; convert the lead's journeys; start post-purchase and any countdown."""
    buyer, details = _buyer(body.customer)
    sale = purchases.Sale(
        store_id=body.store_id,
        pos_transaction_id=body.pos_transaction_id,
        buyer=buyer,
        buyer_details=details,
        amount_minor=body.amount_minor,
        currency=body.currency,
        items=[item.model_dump(exclude_none=True) for item in body.items],
        associate_id=body.associate_id,
        purchased_at=body.purchased_at,
        occasion=(body.occasion.kind, body.occasion.date) if body.occasion else None,
    )
    recorded = await write_once(
        backend.database,
        lambda session: purchases.record_sale(session, backend.reference, actor, sale),
    )
    await backend.tell_temporal(recorded.effects, saved=f"purchase {body.pos_transaction_id}")
    return PurchaseRecorded(
        purchase_id=recorded.purchase_id,
        lead_id=recorded.lead_id,
        created_lead=recorded.created_lead,
        duplicate=recorded.duplicate,
        converted_journeys=recorded.converted_journeys,
        post_purchase_workflow_id=recorded.post_purchase_workflow_id,
        countdown_workflow_id=recorded.countdown_workflow_id,
    )


async def record_return(body: ReturnIn, actor: Actor, backend: Backend) -> ReturnRecorded:
    """Record the refund once; take its amount back from the journey credited with the sale."""
    refund = purchases.Return(
        store_id=body.store_id,
        pos_transaction_id=body.pos_transaction_id,
        refund_id=body.refund_id,
        amount_minor=body.amount_minor,
        items=[item.model_dump(exclude_none=True) for item in body.items],
        returned_at=body.returned_at,
    )
    recorded = await write_once(
        backend.database,
        lambda session: purchases.record_return(session, backend.reference, actor, refund),
    )
    await backend.tell_temporal(recorded.effects, saved=f"refund {body.refund_id}")
    return ReturnRecorded(
        return_id=recorded.return_id,
        purchase_id=recorded.purchase_id,
        lead_id=recorded.lead_id,
        duplicate=recorded.duplicate,
        amount_minor=recorded.amount_minor,
        revenue_reversed_minor=recorded.reversed_minor,
        reversed_workflow_id=recorded.reversed_workflow_id,
        refunded_minor=recorded.refunded_minor,
    )


async def record_job_status(body: JobStatusIn, actor: Actor, backend: Backend) -> JobStatusRecorded:
    """Record a custom job's new status once and tell the lead's journeys."""
    customer, details = _buyer(body.customer)
    recorded = await write_once(
        backend.database,
        lambda session: purchases.record_job_status(
            session,
            backend.reference,
            actor,
            store_id=body.store_id,
            job_id=body.job_id,
            status=body.status,
            customer=customer,
            customer_details=details,
            event_id=body.event_id,
        ),
    )
    applied = await backend.tell_temporal(recorded.effects, saved=f"job {body.job_id}'s status")
    return JobStatusRecorded(
        event_id=recorded.event_id,
        lead_id=recorded.lead_id,
        duplicate=recorded.duplicate,
        delivered_to=applied.delivered,
    )
