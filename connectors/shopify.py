"""Shopify's webhooks: orders (online and at its Point of Sale), customers, refunds.

Shopify posts the resource itself as the body and names it in headers (`X-Shopify-Topic`,
`-Shop-Domain`, `-Webhook-Id` per delivery, `-Triggered-At`). An order paid for becomes a
sale (`record_sale`, once per order id: `orders/updated` for an order already recorded
changes nothing); an order still pending is left for its `orders/updated`. An order whose
`source_name` is "pos" was rung up in the store. A refund takes its successful refund
transactions off the sale's revenue, once per refund id.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from connectors.answers import return_recorded, sale_recorded
from core.vocabulary import LeadSource
from db.repositories import PurchaseRepository
from db.types import MAX_MINOR_UNITS, utcnow
from domain import purchases
from domain.errors import InvalidField
from domain.integrations import Handled, LiveSource
from domain.leads import Details, Identity, find_or_create_lead, normalise_email
from domain.reference import Reference

TOPICS = ("orders/create", "orders/updated", "customers/create", "refunds/create")
EXTERNAL_SOURCE = "shopify"  # a lead's Shopify customer id is kept under this name
# Paid (in full or part): a sale. Pending or authorised orders wait for their update.
_SALE_STATUSES = {"paid", "partially_paid", "partially_refunded", "refunded"}
_ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "XPF"}
_THREE_DECIMAL = {"BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"}


class _Vendor(BaseModel):
    """Shopify's own shapes: fields Facet does not read are Shopify's to add."""

    model_config = ConfigDict(extra="ignore")


class Customer(_Vendor):
    id: int | None = None
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)


class LineItem(_Vendor):
    title: str = Field(max_length=255)
    sku: str | None = Field(default=None, max_length=100)
    quantity: int = Field(default=1, ge=0)
    price: str | None = Field(default=None, max_length=32)


class Order(_Vendor):
    id: int
    name: str | None = Field(default=None, max_length=64)
    source_name: str | None = Field(default=None, max_length=64)
    total_price: str = Field(max_length=32)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    financial_status: str | None = Field(default=None, max_length=32)
    created_at: AwareDatetime | None = None
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    customer: Customer | None = None
    line_items: list[LineItem] = Field(default_factory=list, max_length=500)


class Transaction(_Vendor):
    amount: str = Field(max_length=32)
    kind: str | None = None
    status: str | None = None


class Refund(_Vendor):
    id: int
    order_id: int
    created_at: AwareDatetime | None = None
    note: str | None = Field(default=None, max_length=500)
    transactions: list[Transaction] = Field(default_factory=list, max_length=100)


def minor_units(amount: str, currency: str, field: str) -> int:
    """A Shopify decimal string ("1250.00") in the currency's minor units."""
    try:
        value = Decimal(amount)
    except InvalidOperation as error:
        raise InvalidField(field, f"a decimal amount like 1250.00, not {amount!r}") from error
    places = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    minor = int((value * (10**places)).to_integral_value())
    if not value.is_finite() or minor < 0 or minor > MAX_MINOR_UNITS:
        raise InvalidField(field, "an amount of zero or more, within range")
    return minor


def sale_id(order_id: int) -> str:
    return f"shopify:{order_id}"


def _person(customer: Customer | None, email: str | None, phone: str | None) -> Identity | None:
    customer = customer or Customer()
    try:
        address = normalise_email(customer.email or email)
    except ValueError:
        address = None  # a mistyped address at the till: the phone or id may still find them
    number = customer.phone or phone
    external = (EXTERNAL_SOURCE, str(customer.id)) if customer.id is not None else None
    if not (address or number or external):
        return None
    return Identity(phone=number, email=address, external=external, phone_field="customer.phone")


def handle_order(
    session: Session, reference: Reference, source: LiveSource, order: Order
) -> Handled:
    if order.financial_status is not None and order.financial_status not in _SALE_STATUSES:
        return Handled({"status": "ignored", "reason": f"order is {order.financial_status}"})
    buyer = _person(order.customer, order.email, order.phone)
    if buyer is None:
        return Handled({"status": "ignored", "reason": "the order names no customer"})
    customer = order.customer or Customer()
    in_store = order.source_name == "pos"
    recorded = purchases.record_sale(
        session,
        reference,
        source.actor,
        purchases.Sale(
            store_id=source.store_id,
            pos_transaction_id=sale_id(order.id),
            buyer=buyer,
            buyer_details=Details(first_name=customer.first_name, last_name=customer.last_name),
            amount_minor=minor_units(order.total_price, order.currency, "total_price"),
            currency=order.currency,
            items=[_item(line, order.currency) for line in order.line_items],
            associate_id=None,
            purchased_at=order.created_at,
            occasion=None,
            source="shopify_pos" if in_store else "shopify_online",
        ),
    )
    return sale_recorded(recorded, in_store=in_store)


def _item(line: LineItem, currency: str) -> dict[str, Any]:
    item: dict[str, Any] = {"name": line.title, "qty": line.quantity}
    if line.sku:
        item["sku"] = line.sku
    if line.price is not None:
        item["price_minor"] = minor_units(line.price, currency, "line_items.price")
    return item


def handle_customer(
    session: Session, reference: Reference, source: LiveSource, customer: Customer
) -> Handled:
    who = _person(customer, None, None)
    if who is None:
        return Handled({"status": "ignored", "reason": "the customer has no id, email or phone"})
    store = reference.store(session, source.store_id)
    assert store is not None, "a live source's store exists"
    found = find_or_create_lead(
        session,
        store,
        who,
        Details(first_name=customer.first_name, last_name=customer.last_name),
        source=LeadSource.SHOPIFY.value,
    )
    session.flush()
    return Handled(
        {"status": "recorded", "lead_id": str(found.lead.id), "created": found.created},
        lead_id=found.lead.id,
    )


def handle_refund(
    session: Session, reference: Reference, source: LiveSource, refund: Refund
) -> Handled:
    """Take the refund's successful refund transactions off the sale, once per refund id
    (never more than is left of it: Shopify may refund shipping Facet did not count)."""
    purchases_of_store = PurchaseRepository(session)
    sale = purchases_of_store.by_transaction(source.store_id, sale_id(refund.order_id))
    if sale is None:
        return Handled({"status": "ignored", "reason": "no sale recorded for that order"})
    refund_id = f"shopify-refund:{refund.id}"
    earlier = purchases_of_store.return_by_refund(source.store_id, refund_id)
    refunded = [
        t for t in refund.transactions if t.kind == "refund" and t.status in (None, "success")
    ]
    given = sum(minor_units(t.amount, sale.currency, "transactions.amount") for t in refunded)
    amount = (
        earlier.amount_minor if earlier else min(given, sale.amount_minor - sale.refunded_minor)
    )
    if amount <= 0:
        return Handled({"status": "ignored", "reason": "nothing of the sale left to refund"})
    done = purchases.record_return(
        session,
        reference,
        source.actor,
        purchases.Return(
            store_id=source.store_id,
            pos_transaction_id=sale_id(refund.order_id),
            refund_id=refund_id,
            amount_minor=amount,
            returned_at=refund.created_at or utcnow(),
        ),
    )
    return return_recorded(done)


def stale(triggered_at: datetime, now: datetime, max_age_seconds: int) -> bool:
    age = (now - triggered_at).total_seconds()
    return age > max_age_seconds or age < -300
