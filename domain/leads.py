"""Leads and identity: one person per store, found by phone, email or POS customer id.

Every door that learns of a person (a capture form, a sale at the till, a WhatsApp message,
later a store system's customer record) calls `find_or_create_lead`, so a person is matched
the same way whoever saw them first.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
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
    e164, wrong = _e164(raw, country)
    if e164 is None:
        raise InvalidField(field, wrong or "not a phone number")
    return e164


@functools.lru_cache(maxsize=16_384)
def _e164(raw: str, country: str) -> tuple[str | None, str | None]:
    """(the number in E.164, None) or (None, what is wrong with it). Remembered: an import
    meets the same buyers' numbers again and again, and parsing one costs a tenth of a ms."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as error:
        return None, f"not a phone number ({error})"
    if not phonenumbers.is_valid_number(number):
        return None, f"not a valid phone number for region {country} or in +country format"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


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


class LeadIndex:
    """Where `find_or_create_lead` looks a person up: here, the database, a query per key.

    `LeadIndex.loaded` answers from the leads of many people read at once (an import's unit
    of work): the same questions in the same order, so a person is matched the same way.
    """

    def __init__(self, session: Session, store_id: uuid.UUID) -> None:
        self.session = session
        self.store_id = store_id
        self.leads = LeadRepository(session)
        self.external = ExternalIdRepository(session)

    @staticmethod
    def loaded(session: Session, store: StoreProfile, people: Iterable[Identity]) -> LeadIndex:
        return _LoadedLeadIndex(session, store, people)

    def by_external(self, source: str, external_id: str) -> Lead | None:
        known_id = self.external.lead_id(self.store_id, source, external_id)
        return self.leads.get(known_id) if known_id else None

    def by_pos_customer(self, pos_customer_id: str) -> Lead | None:
        return self.leads.by_pos_customer(self.store_id, pos_customer_id)

    def by_identity(self, phone_e164: str | None, email: str | None) -> Lead | None:
        """The lead with this phone or email; a phone match wins over an email match."""
        return self.leads.find_by_identity(self.store_id, phone_e164=phone_e164, email=email)

    def added(self, lead: Lead) -> None:
        self.leads.add(lead, flush=False)

    def linked(self, lead_id: uuid.UUID, key: tuple[str, str]) -> None:
        self.external.add(self._link(lead_id, key), flush=False)

    def _link(self, lead_id: uuid.UUID, key: tuple[str, str]) -> LeadExternalId:
        source, external_id = key
        return LeadExternalId(
            store_id=self.store_id, source=source, external_id=external_id, lead_id=lead_id
        )

    def learned(self, lead: Lead) -> None:
        """The lead gained keys (a new lead, or a known one told us more)."""

    def read_ahead(self) -> set[uuid.UUID] | None:
        """The leads read before matching began (None: none, each key is asked for)."""
        return None

    def flush(self) -> None:
        """Write the leads made or taught, then their external ids (which refer to them)."""
        self.session.flush()


class _LoadedLeadIndex(LeadIndex):
    """The leads of many people, read in two queries; leads made or taught while they are
    matched are remembered, so the same person twice in a batch is one lead."""

    def __init__(self, session: Session, store: StoreProfile, people: Iterable[Identity]) -> None:
        super().__init__(session, store.id)
        people = list(people)
        phones = set()
        for who in people:
            e164, _ = _e164(who.phone, store.country) if who.phone else (None, None)
            if e164:
                phones.add(e164)
        keys = {who.external for who in people if who.external}
        self._external_ids = self.external.lead_ids(store.id, keys)
        self._by_id: dict[uuid.UUID, Lead] = {}
        self._by_phone: dict[str, Lead] = {}
        self._by_email: dict[str, Lead] = {}
        self._by_pos: dict[str, Lead] = {}
        found = self.leads.by_any_key(
            store.id,
            phones=phones,
            emails={who.email for who in people if who.email},
            pos_customer_ids={who.pos_customer_id for who in people if who.pos_customer_id},
            ids=set(self._external_ids.values()),
        )
        for lead in found:
            self.learned(lead)
        self._read = {lead.id for lead in found}
        self._links: list[LeadExternalId] = []

    def by_external(self, source: str, external_id: str) -> Lead | None:
        known_id = self._external_ids.get((source, external_id))
        return self._by_id.get(known_id) if known_id else None

    def by_pos_customer(self, pos_customer_id: str) -> Lead | None:
        return self._by_pos.get(pos_customer_id)

    def by_identity(self, phone_e164: str | None, email: str | None) -> Lead | None:
        by_phone = self._by_phone.get(phone_e164) if phone_e164 else None
        return by_phone or (self._by_email.get(email) if email else None)

    def added(self, lead: Lead) -> None:
        super().added(lead)
        self.learned(lead)

    def linked(self, lead_id: uuid.UUID, key: tuple[str, str]) -> None:
        self._links.append(self._link(lead_id, key))
        self._external_ids[key] = lead_id

    def flush(self) -> None:
        super().flush()
        self.external.insert_many(self._links)
        self._links = []

    def learned(self, lead: Lead) -> None:
        self._by_id[lead.id] = lead
        for keys, value in (
            (self._by_phone, lead.phone_e164),
            (self._by_email, lead.email),
            (self._by_pos, lead.pos_customer_id),
        ):
            if value:
                keys.setdefault(value, lead)

    def read_ahead(self) -> set[uuid.UUID] | None:
        return set(self._read)


def find_or_create_lead(
    session: Session,
    store: StoreProfile,
    who: Identity,
    details: Details,
    *,
    source: str,
    index: LeadIndex | None = None,
) -> FoundLead:
    """The store's lead for this person — by another system's id for them, then POS customer
    id, then phone, then email — or a new one from the store's defaults. The lead found or
    made keeps the external id, so that system's next event finds them at once.

    A new lead is added but not flushed, with its id set: the caller may score it first, so
    its INSERT carries the score (a capture), or flush with the rows that refer to it.
    `index`: where to look (the database, a query per key, unless a batch read its leads).
    """
    phone = normalise_phone(who.phone, store.country, field=who.phone_field) if who.phone else None
    index = index or LeadIndex(session, store.id)
    lead = index.by_external(*who.external) if who.external else None
    known_externally = lead is not None
    if lead is None and who.pos_customer_id:
        lead = index.by_pos_customer(who.pos_customer_id)
    lead = lead or index.by_identity(phone, who.email)
    if lead is not None:
        _learn(index, lead, who, phone, details, store)
        if who.external and not known_externally:
            index.linked(lead.id, who.external)
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
    index.added(lead)
    if who.external:
        index.linked(lead.id, who.external)
    return FoundLead(lead, created=True)


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
    index: LeadIndex,
    lead: Lead,
    who: Identity,
    phone: str | None,
    details: Details,
    store: StoreProfile,
) -> None:
    """Add what a returning person told us this time, without taking another lead's keys."""
    if who.pos_customer_id and not lead.pos_customer_id:
        lead.pos_customer_id = who.pos_customer_id
    if phone and not lead.phone_e164 and not index.by_identity(phone, None):
        lead.phone_e164 = phone
    if who.email and not lead.email and not index.by_identity(None, who.email):
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
    index.learned(lead)


def lead_for(session: Session, lead_id: uuid.UUID, actor: Actor) -> Lead:
    """The lead, if the actor may see its store."""
    lead = LeadRepository(session).get(lead_id)
    if lead is None:
        raise UnknownLead(lead_id)
    if not actor.may_access_store(lead.store_id):
        raise OutsideBranch("this lead belongs to a store your key cannot see")
    return lead
