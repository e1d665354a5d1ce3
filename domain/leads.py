"""Leads and identity: one person per store, found by phone, email or POS customer id.

Every door that learns of a person (a capture form, a sale at the till, a WhatsApp message,
later a store system's customer record) calls `find_or_create_lead`, so a person is matched
the same way whoever saw them first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from db.models import Lead, LeadExternalId
from db.repositories import ExternalIdRepository, LeadRepository
from db.types import utcnow
from domain.access import Actor
from domain.errors import InvalidField, OutsideBranch, UnknownLead
from domain.reference import StoreProfile
from sequences.vocabulary import Channel


def normalise_phone(raw: str, country: str, *, field: str = "phone") -> str:
    """E.164, reading numbers without a country code as the store's country."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as error:
        raise InvalidField(field, f"not a phone number ({error})") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidField(
            field, f"not a valid phone number for region {country} or in +country format"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def spoken_phone(e164: str) -> str:
    """A stored number the way people read it: "+91 98450 12345"."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_email(value: str | None) -> str | None:
    """Lower-cased and checked; raises ValueError (for pydantic validators) when invalid."""
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address: {error}") from error


@dataclass(frozen=True)
class Identity:
    """How a door knows the person: at least one key. `phone` is as given (any format);
    `email` is already normalised; `phone_field` names the phone in the door's own words."""

    phone: str | None = None
    email: str | None = None
    pos_customer_id: str | None = None
    phone_field: str = "phone"
    # Another system's id for the person: (source, its customer id), e.g. ("shopify", "207…").
    external: tuple[str, str] | None = None


@dataclass(frozen=True)
class Details:
    """What else the person told us. A new lead takes all of it; a known lead gains what it
    lacked (a newly given preferred channel wins; new occasion dates are added)."""

    first_name: str | None = None
    last_name: str | None = None
    preferred_channel: Channel | None = None
    segment: str | None = None
    timezone: str | None = None
    language: str | None = None
    occasion_dates: dict[str, str] = field(default_factory=dict)
    budget: Budget | None = None
    metals: list[str] = field(default_factory=list)
    stones: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Budget:
    """An amount in minor units (`currency` None: the store's), or a band, or both."""

    amount_minor: int | None = None
    currency: str | None = None
    band: str | None = None


@dataclass(frozen=True)
class FoundLead:
    lead: Lead
    created: bool


def find_or_create_lead(
    session: Session, store: StoreProfile, who: Identity, details: Details, *, source: str
) -> FoundLead:
    """The store's lead for this person — by another system's id for them, then POS customer
    id, then phone, then email — or a new one from the store's defaults. The lead found or
    made keeps the external id, so that system's next event finds them at once.

    A new lead is added but not flushed, with its id set: the caller may score it first, so
    its INSERT carries the score (a capture), or flush with the rows that refer to it.
    """
    phone = normalise_phone(who.phone, store.country, field=who.phone_field) if who.phone else None
    leads = LeadRepository(session)
    external = ExternalIdRepository(session)
    known_id = external.lead_id(store.id, *who.external) if who.external else None
    lead = leads.get(known_id) if known_id else None
    if lead is None and who.pos_customer_id:
        lead = leads.by_pos_customer(store.id, who.pos_customer_id)
    lead = lead or leads.find_by_identity(store.id, phone_e164=phone, email=who.email)
    if lead is not None:
        _learn(leads, lead, who, phone, details, store)
        if who.external and known_id is None:
            _link(external, store, lead.id, who.external)
        return FoundLead(lead, created=False)
    now = utcnow()
    lead = Lead(
        id=uuid.uuid4(),
        store_id=store.id,
        first_name=details.first_name,
        last_name=details.last_name,
        phone_e164=phone,
        email=who.email,
        pos_customer_id=who.pos_customer_id,
        timezone=details.timezone or store.timezone,
        language=details.language or store.locale,
        preferred_channel=details.preferred_channel,
        source=source,
        segment=details.segment,
        occasion_dates=dict(details.occasion_dates),
        metals=list(details.metals),
        stones=list(details.stones),
        styles=list(details.styles),
        interests=list(details.interests),
        created_at=now,
        updated_at=now,
    )
    _set_budget(lead, details.budget, store)
    leads.add(lead, flush=False)
    if who.external:
        _link(external, store, lead.id, who.external)
    return FoundLead(lead, created=True)


def _link(
    external: ExternalIdRepository, store: StoreProfile, lead_id: uuid.UUID, key: tuple[str, str]
) -> None:
    source, external_id = key
    external.add(
        LeadExternalId(store_id=store.id, source=source, external_id=external_id, lead_id=lead_id),
        flush=False,
    )


def _set_budget(lead: Lead, budget: Budget | None, store: StoreProfile) -> None:
    """A budget given now replaces the one given before (people revise what they spend)."""
    if budget is None:
        return
    lead.budget_band = budget.band
    lead.budget_minor = budget.amount_minor
    lead.budget_currency = (budget.currency or store.currency) if budget.amount_minor else None


def _together(known: list[str], told: list[str]) -> list[str]:
    """What the lead liked before, and what they add now, each once, in the order told."""
    return known + [value for value in told if value not in known]


def _learn(
    leads: LeadRepository,
    lead: Lead,
    who: Identity,
    phone: str | None,
    details: Details,
    store: StoreProfile,
) -> None:
    """Add what a returning person told us this time, without taking another lead's keys."""
    if who.pos_customer_id and not lead.pos_customer_id:
        lead.pos_customer_id = who.pos_customer_id
    if (
        phone
        and not lead.phone_e164
        and not leads.find_by_identity(lead.store_id, phone_e164=phone, email=None)
    ):
        lead.phone_e164 = phone
    if (
        who.email
        and not lead.email
        and not leads.find_by_identity(lead.store_id, phone_e164=None, email=who.email)
    ):
        lead.email = who.email
    lead.first_name = lead.first_name or details.first_name
    lead.last_name = lead.last_name or details.last_name
    lead.preferred_channel = details.preferred_channel or lead.preferred_channel
    lead.segment = lead.segment or details.segment
    if details.occasion_dates:
        lead.occasion_dates = {**lead.occasion_dates, **details.occasion_dates}
    _set_budget(lead, details.budget, store)
    for name in ("metals", "stones", "styles", "interests"):
        told: list[str] = getattr(details, name)
        if told:
            setattr(lead, name, _together(list(getattr(lead, name) or []), told))


def lead_for(session: Session, lead_id: uuid.UUID, actor: Actor) -> Lead:
    """The lead, if the actor may see its store."""
    lead = LeadRepository(session).get(lead_id)
    if lead is None:
        raise UnknownLead(lead_id)
    if not actor.may_access_store(lead.store_id):
        raise OutsideBranch("this lead belongs to a store your key cannot see")
    return lead
