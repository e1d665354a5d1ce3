"""Facet's store-system contract: one signed envelope, a few event types, each mapped onto
the domain call every other door uses.

Envelope: `{event_id, event_type, occurred_at, store_id, source_system, payload}`.

| event_type | what Facet does |
|---|---|
| `customer.upserted` | find or create the person (external id, phone, email) |
| `sale.completed` | `record_sale`: journeys converted, post-purchase started |
| `sale.returned` | the refund is recorded once; the sale's converted journeys lose that revenue |
| `visit.recorded` | a store visit on the lead's timeline; journeys hear it |
| `appointment.requested|booked|attended|no_show` | an appointment event (attended: a visit) |
| `job.created|status_changed|ready|picked_up` | a custom job's status (`record_job_status`) |
| `wishlist.item_added` | a product the lead wants, as a product view with `wishlist: true` |

Sale ids are kept as `"{source}:{external_sale_id}"`, so two systems' "S-1" never meet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from connectors.answers import return_recorded, sale_recorded
from core.settings import Settings
from core.vocabulary import LeadSource
from db.types import MAX_MINOR_UNITS
from domain import intake, purchases
from domain.errors import InvalidField
from domain.fields import Happened, YearlyDay
from domain.integrations import Delivery, Handled, LiveSource
from domain.leads import Details, Identity, find_or_create_lead, normalise_email
from domain.reference import Reference
from sequences.vocabulary import EventKind

Text = Annotated[str, Field(min_length=1, max_length=200)]
Minor = Annotated[int, Field(ge=0, le=MAX_MINOR_UNITS)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Customer(_In):
    """The person as the store system knows them: its id for them, and how to reach them."""

    external_customer_id: Text | None = None
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    phone_e164: str | None = Field(default=None, max_length=32)
    whatsapp_e164: str | None = Field(default=None, max_length=32)
    birthday: YearlyDay | None = None
    anniversary: YearlyDay | None = None
    partner_name: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _identifiable(self) -> Customer:
        if not (self.external_customer_id or self.phone_e164 or self.whatsapp_e164 or self.email):
            raise ValueError(
                "give external_customer_id, phone_e164 or email so the person can be found"
            )
        try:
            self.email = normalise_email(self.email)
        except ValueError as error:
            raise InvalidField("customer.email", str(error)) from error
        return self


class Stone(_In):
    type: str | None = Field(default=None, max_length=64)
    shape: str | None = Field(default=None, max_length=64)
    carat: float | None = Field(default=None, ge=0, le=1000)
    colour: str | None = Field(default=None, max_length=16)
    clarity: str | None = Field(default=None, max_length=16)
    cert_lab: str | None = Field(default=None, max_length=32)
    cert_no: str | None = Field(default=None, max_length=64)


class Line(_In):
    line_no: int = Field(ge=1, le=10_000)
    sku: str | None = Field(default=None, max_length=100)
    external_product_id: str | None = Field(default=None, max_length=100)
    title: Text
    category: str | None = Field(default=None, max_length=64)
    metal: str | None = Field(default=None, max_length=32)
    purity: str | None = Field(default=None, max_length=16)
    weight_g: float | None = Field(default=None, ge=0, le=100_000)
    stones: list[Stone] = Field(default_factory=list, max_length=50)
    qty: int = Field(default=1, ge=1, le=10_000)
    unit_price_minor: Minor | None = None


class CustomerPayload(_In):
    customer: Customer


class SalePayload(_In):
    external_sale_id: Text
    location_id: str | None = Field(default=None, max_length=100)
    associate_id: str | None = Field(default=None, max_length=100)
    total_minor: Minor
    tax_minor: Minor | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    customer: Customer
    lines: list[Line] = Field(default_factory=list, max_length=200)


class ReturnPayload(_In):
    external_sale_id: Text
    external_return_id: Text | None = Field(
        default=None, description="Defaults to the envelope's event_id"
    )
    amount_minor: Minor | None = Field(default=None, description="None: the whole sale")
    reason: str | None = Field(default=None, max_length=200)


class LeadEventPayload(_In):
    """A visit, an appointment, a wishlist item: who, and a few facts."""

    customer: Customer
    note: str | None = Field(default=None, max_length=1000)
    sku: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=200)
    appointment_at: AwareDatetime | None = None


class JobPayload(_In):
    customer: Customer
    job_id: Text
    job_type: Literal["repair", "custom", "special_order", "appraisal"] | None = None
    status: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,47}$",
        description="Defaults to the event type's last word (ready, picked_up, …)",
    )


class _Envelope(_In):
    event_id: str = Field(min_length=1, max_length=150)
    occurred_at: Happened
    store_id: uuid.UUID
    source_system: str = Field(min_length=1, max_length=100)


class CustomerUpserted(_Envelope):
    event_type: Literal["customer.upserted"]
    payload: CustomerPayload


class SaleCompleted(_Envelope):
    event_type: Literal["sale.completed"]
    payload: SalePayload


class SaleReturned(_Envelope):
    event_type: Literal["sale.returned"]
    payload: ReturnPayload


class LeadEventHappened(_Envelope):
    event_type: Literal[
        "visit.recorded",
        "appointment.requested",
        "appointment.booked",
        "appointment.attended",
        "appointment.no_show",
        "wishlist.item_added",
    ]
    payload: LeadEventPayload


class JobMoved(_Envelope):
    event_type: Literal["job.created", "job.status_changed", "job.ready", "job.picked_up"]
    payload: JobPayload


Envelope = Annotated[
    CustomerUpserted | SaleCompleted | SaleReturned | LeadEventHappened | JobMoved,
    Field(discriminator="event_type"),
]
_LEAD_EVENTS: dict[str, EventKind] = {
    "visit.recorded": EventKind.STORE_VISIT,
    "appointment.requested": EventKind.APPOINTMENT_REQUESTED,
    "appointment.booked": EventKind.APPOINTMENT_BOOKED,
    "appointment.attended": EventKind.STORE_VISIT,
    "appointment.no_show": EventKind.NOTE,
    "wishlist.item_added": EventKind.PRODUCT_VIEW,
}


def delivery(source: str, envelope: _Envelope, payload: dict[str, Any]) -> Delivery:
    event_type: str = getattr(envelope, "event_type")  # noqa: B009 (each subclass has one)
    return Delivery(
        source=source,
        event_id=envelope.event_id,
        event_type=event_type,
        store_id=envelope.store_id,
        occurred_at=envelope.occurred_at,
        payload=payload,
    )


def identity(source: str, customer: Customer) -> tuple[Identity, Details]:
    """The person the way `find_or_create_lead` looks for them."""
    occasions: dict[str, str] = {}
    if customer.birthday:
        occasions["birthday"] = customer.birthday.isoformat()
    if customer.anniversary:
        occasions["anniversary"] = customer.anniversary.isoformat()
    external = (source, customer.external_customer_id) if customer.external_customer_id else None
    return (
        Identity(
            phone=customer.phone_e164 or customer.whatsapp_e164,
            email=customer.email,
            external=external,
            phone_field="payload.customer.phone_e164",
        ),
        Details(
            first_name=customer.first_name,
            last_name=customer.last_name,
            occasion_dates=occasions,
        ),
    )


@dataclass(frozen=True)
class Contract:
    """What handling an envelope needs: the database's cached rows and the settings."""

    reference: Reference
    settings: Settings


def handle(
    session: Session, contract: Contract, source: LiveSource, envelope: _Envelope
) -> Handled:
    """Act on one envelope through the domain; the answer a store system is given."""
    if envelope.store_id != source.store_id:
        raise InvalidField("store_id", f"source {source.source!r} posts for another store")
    if isinstance(envelope, CustomerUpserted):
        return _customer(session, contract, source, envelope)
    if isinstance(envelope, SaleCompleted):
        return _sale(session, contract, source, envelope)
    if isinstance(envelope, SaleReturned):
        return _return(session, contract, source, envelope)
    if isinstance(envelope, JobMoved):
        return _job(session, contract, source, envelope)
    assert isinstance(envelope, LeadEventHappened)
    return _lead_event(session, contract, source, envelope)


def _customer(
    session: Session, contract: Contract, source: LiveSource, envelope: CustomerUpserted
) -> Handled:
    store = contract.reference.store(session, source.store_id)
    assert store is not None, "a live source's store exists"
    who, details = identity(source.source, envelope.payload.customer)
    found = find_or_create_lead(session, store, who, details, source=LeadSource.POS.value)
    session.flush()
    return Handled(
        answer={"status": "recorded", "lead_id": str(found.lead.id), "created": found.created},
        lead_id=found.lead.id,
    )


def sale_id(source: str, external_sale_id: str) -> str:
    return f"{source}:{external_sale_id}"


def _sale(
    session: Session, contract: Contract, source: LiveSource, envelope: SaleCompleted
) -> Handled:
    body = envelope.payload
    who, details = identity(source.source, body.customer)
    recorded = purchases.record_sale(
        session,
        contract.reference,
        source.actor,
        purchases.Sale(
            store_id=source.store_id,
            pos_transaction_id=sale_id(source.source, body.external_sale_id),
            buyer=who,
            buyer_details=details,
            amount_minor=body.total_minor,
            currency=body.currency,
            items=[_item(line) for line in body.lines],
            associate_id=None,  # the system's staff ids are not Facet's
            purchased_at=envelope.occurred_at,
            occasion=None,
            source=source.source,
        ),
    )
    return sale_recorded(recorded)


def _item(line: Line) -> dict[str, Any]:
    item = line.model_dump(exclude_none=True)
    item["name"] = item.pop("title")
    if line.unit_price_minor is not None:
        item["price_minor"] = line.unit_price_minor * line.qty
    return item


def _return(
    session: Session, contract: Contract, source: LiveSource, envelope: SaleReturned
) -> Handled:
    body = envelope.payload
    refund = purchases.Return(
        store_id=source.store_id,
        pos_transaction_id=sale_id(source.source, body.external_sale_id),
        refund_id=f"{source.source}:{body.external_return_id or envelope.event_id}",
        amount_minor=body.amount_minor,
        returned_at=envelope.occurred_at,
    )
    try:
        done = purchases.record_return(session, contract.reference, source.actor, refund)
    except InvalidField as error:  # named in the domain's words: say it in the contract's
        field = {"pos_transaction_id": "payload.external_sale_id"}.get(
            error.field, f"payload.{error.field}"
        )
        raise InvalidField(field, error.message) from error
    return return_recorded(done)


def _job(session: Session, contract: Contract, source: LiveSource, envelope: JobMoved) -> Handled:
    body = envelope.payload
    who, details = identity(source.source, body.customer)
    status = body.status or envelope.event_type.split(".", 1)[1]
    recorded = purchases.record_job_status(
        session,
        contract.reference,
        source.actor,
        store_id=source.store_id,
        job_id=body.job_id,
        status=status,
        customer=who,
        customer_details=details,
        event_id=f"{source.source}:{envelope.event_id}",
    )
    return Handled(
        answer={"status": "recorded", "lead_id": str(recorded.lead_id)},
        lead_id=recorded.lead_id,
        effects=recorded.effects,
    )


def _lead_event(
    session: Session, contract: Contract, source: LiveSource, envelope: LeadEventHappened
) -> Handled:
    body = envelope.payload
    store = contract.reference.store(session, source.store_id)
    assert store is not None, "a live source's store exists"
    who, details = identity(source.source, body.customer)
    found = find_or_create_lead(session, store, who, details, source=LeadSource.POS.value)
    session.flush()
    facts: dict[str, Any] = {
        "store_system": source.source,
        "event_type": envelope.event_type,
        **body.model_dump(mode="json", exclude_none=True, exclude={"customer"}),
    }
    if envelope.event_type == "wishlist.item_added":
        facts["wishlist"] = True
    if envelope.event_type == "appointment.no_show":
        facts["text"] = "Did not come to the appointment"
    recorded = intake.record_lead_event(
        session,
        contract.reference,
        contract.settings,
        source.actor,
        found.lead.id,
        key=f"{source.source}:{envelope.event_id}",
        kind=_LEAD_EVENTS[envelope.event_type],
        source=source.source,
        payload=facts,
        occurred_at=envelope.occurred_at,
    )
    return Handled(
        answer={"status": "recorded", "lead_id": str(found.lead.id)},
        lead_id=found.lead.id,
        effects=recorded.effects,
    )
