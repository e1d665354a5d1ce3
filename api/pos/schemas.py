"""Bodies of the POS routes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from db.types import MAX_MINOR_UNITS
from domain.fields import Happened, OneOffDay
from domain.leads import normalise_email
from sequences.vocabulary import Occasion


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Customer(_In):
    """How the POS knows the buyer; at least one key. Unknown buyers become leads."""

    pos_customer_id: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=320)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)

    @field_validator("email")
    @classmethod
    def _normalise_email(cls, value: str | None) -> str | None:
        return normalise_email(value)

    @model_validator(mode="after")
    def _identifiable(self) -> Customer:
        if not (self.pos_customer_id or self.phone or self.email):
            raise ValueError("give pos_customer_id, phone or email so the buyer can be found")
        return self


class Item(_In):
    name: str = Field(min_length=1, max_length=200)
    sku: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=64)
    price_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR_UNITS)


class OccasionGiven(_In):
    """A date the purchase was for, e.g. an anniversary: Facet counts down to it each year."""

    kind: Occasion
    date: OneOffDay = Field(description="From 1900 to five years ahead")


class PurchaseIn(_In):
    store_id: uuid.UUID
    pos_transaction_id: str = Field(min_length=1, max_length=100)
    customer: Customer
    amount_minor: int = Field(
        ge=0, le=MAX_MINOR_UNITS, description="Total in minor units (paise, cents)"
    )
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    items: list[Item] = Field(default_factory=list, max_length=200)
    associate_id: uuid.UUID | None = None
    purchased_at: Happened | None = None
    occasion: OccasionGiven | None = None


class PurchaseRecorded(BaseModel):
    purchase_id: uuid.UUID
    lead_id: uuid.UUID
    created_lead: bool
    duplicate: bool
    converted_journeys: list[str]
    post_purchase_workflow_id: str | None
    countdown_workflow_id: str | None


class JobStatusIn(_In):
    """A custom order moved on: cad_ready, approved, in_production, ready, picked_up, …"""

    store_id: uuid.UUID
    job_id: str = Field(min_length=1, max_length=100)
    status: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    customer: Customer
    event_id: str | None = Field(
        default=None, max_length=200, description="Defaults to job_id + status"
    )


class JobStatusRecorded(BaseModel):
    event_id: uuid.UUID
    lead_id: uuid.UUID
    duplicate: bool
    delivered_to: list[str]


class ReturnIn(_In):
    """A refund of a recorded sale, full or partial; recorded once per refund id."""

    store_id: uuid.UUID
    pos_transaction_id: str = Field(min_length=1, max_length=100)
    refund_id: str = Field(min_length=1, max_length=100)
    amount_minor: int | None = Field(
        default=None,
        ge=1,
        le=MAX_MINOR_UNITS,
        description="Refunded, in minor units; omit to refund what is left of the sale",
    )
    items: list[Item] = Field(default_factory=list, max_length=200)
    returned_at: Happened | None = None


class ReturnRecorded(BaseModel):
    return_id: uuid.UUID
    purchase_id: uuid.UUID
    lead_id: uuid.UUID
    duplicate: bool
    amount_minor: int
    revenue_reversed_minor: int
    reversed_workflow_id: str | None
    refunded_minor: int
