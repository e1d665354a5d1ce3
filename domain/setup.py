"""Store setup: an admin's branches and staff.

A branch's country and state decide its leads' quiet hours (`sequences.send_window`), its
caps override the settings' frequency caps, and its address goes in every email's footer.
A staff member's role, expertise, languages and capacity decide which tasks routing gives
them; their notice channel and contact decide how they hear of one. Every value is checked
here, whichever door it came through; an admin limited to one branch works on that branch.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from sqlalchemy.orm import Session

from core.vocabulary import ApiRole
from db.models import Staff, Store
from db.repositories import StaffAccountRepository, StaffRepository, StoreRepository
from domain import accounts
from domain.access import Actor
from domain.errors import Conflict, InvalidField, NotAllowed, OutsideBranch
from domain.keys import admin_only
from domain.leads import normalise_email, normalise_phone
from sequences.send_window import Recipient, WeeklyWindow, weekly_window
from sequences.vocabulary import Channel, StaffRole

MAX_PER_DAY, MAX_PER_WEEK, MAX_CAPACITY = 10, 50, 500
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_ -]{0,39}$")
_LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class BranchDetails:
    """A branch as an admin typed it (every value as text; blank means none)."""

    name: str
    timezone: str
    country: str
    region: str = ""
    currency: str = ""
    locale: str = "en"
    address: str = ""
    phone: str = ""
    max_per_day: str = ""
    max_per_week: str = ""


@dataclass(frozen=True)
class StaffDetails:
    """A staff member as an admin typed it."""

    name: str
    role: str
    expertise: str = ""  # comma-separated tags, e.g. "bridal, diamonds"
    languages: str = "en"  # comma-separated codes, first the one notices are written in
    capacity: str = "20"
    notice_channel: str = ""  # blank: SMS when they have a phone, else email
    phone: str = ""
    email: str = ""
    active: bool = True


def _text(field: str, value: str, longest: int, *, needed: bool = False) -> str | None:
    value = value.strip()
    if not value:
        if needed:
            raise InvalidField(field, "this is needed")
        return None
    if len(value) > longest:
        raise InvalidField(field, f"use at most {longest} characters")
    return value


def _email(field: str, value: str) -> str | None:
    try:
        return normalise_email(value.strip())
    except ValueError as error:
        raise InvalidField(field, str(error)) from error


def _whole(field: str, value: str, lowest: int, highest: int) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not lowest <= int(value) <= highest:
        raise InvalidField(field, f"a whole number from {lowest} to {highest}")
    return int(value)


def _zone(value: str) -> str:
    value = value.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        value = ""
    if value not in available_timezones():
        raise InvalidField("timezone", "a time zone such as Asia/Kolkata or America/New_York")
    return value


def _apply_branch(store: Store, details: BranchDetails) -> None:
    country = details.country.strip().upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidField("country", "a two-letter country code such as IN or US")
    region = (_text("region", details.region, 8) or "").upper() or None
    if country == "US" and region is not None and not re.fullmatch(r"[A-Z]{2}", region):
        raise InvalidField("region", "a US state's two letters, such as FL")
    currency = details.currency.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidField("currency", "a three-letter currency code such as INR or USD")
    locale = details.locale.strip() or "en"
    if not _LOCALE.fullmatch(locale):
        raise InvalidField("locale", "a language code such as en or hi")
    per_day = _whole("max_per_day", details.max_per_day, 1, MAX_PER_DAY)
    per_week = _whole("max_per_week", details.max_per_week, 1, MAX_PER_WEEK)
    if per_day is not None and per_week is not None and per_week < per_day:
        raise InvalidField("max_per_week", "at least as many as a day allows")
    store.name = _text("name", details.name, 200, needed=True) or ""
    store.timezone = _zone(details.timezone)
    store.country, store.region, store.currency, store.locale = country, region, currency, locale
    store.address = _text("address", details.address, 500)
    store.phone = _text("phone", details.phone, 32)
    store.max_marketing_per_day, store.max_marketing_per_week = per_day, per_week


def branches(session: Session, actor: Actor) -> Sequence[Store]:
    """The branches an admin manages: every one, or their own."""
    admin_only(actor)
    return [store for store in StoreRepository(session).every() if actor.may_access_store(store.id)]


def branch(session: Session, actor: Actor, store_id: uuid.UUID) -> Store:
    admin_only(actor)
    store = StoreRepository(session).get(store_id)
    if store is None or not actor.may_access_store(store.id):
        raise OutsideBranch("this branch is not yours to manage")
    return store


def create_branch(session: Session, actor: Actor, details: BranchDetails) -> Store:
    """A new branch. Only an admin of every branch opens one."""
    admin_only(actor)
    if actor.store_id is not None:
        raise NotAllowed("an admin of one branch cannot open another; ask an admin of every branch")
    store = Store()
    _apply_branch(store, details)
    return StoreRepository(session).add(store)


def update_branch(
    session: Session, actor: Actor, store_id: uuid.UUID, details: BranchDetails
) -> Store:
    """Change a branch; captures and sends pick it up within seconds."""
    store = branch(session, actor, store_id)
    _apply_branch(store, details)
    session.flush()
    return store


def quiet_hours(store: Store) -> WeeklyWindow:
    """When marketing may reach a lead of this branch's country, on the lead's own clock."""
    return weekly_window(Recipient(store.country, store.region, store.timezone))


def spoken_window(window: WeeklyWindow) -> list[str]:
    """ "Mon–Fri 10:00–21:00", … : a weekly window as a person reads it."""
    said: list[tuple[str, str, str]] = []
    for day, hours in zip(_DAYS, window, strict=True):
        text = f"{hours.opens:%H:%M}–{hours.closes:%H:%M}" if hours else "no marketing"
        if said and said[-1][2] == text:
            said[-1] = (said[-1][0], day, text)
        else:
            said.append((day, day, text))
    return [
        f"{first}–{last} {text}" if first != last else f"{first} {text}"
        for first, last, text in said
    ]


# --- staff -------------------------------------------------------------------------------


def _tags(field: str, value: str, pattern: re.Pattern[str], most: int) -> list[str]:
    tags: list[str] = []
    for raw in value.split(","):
        tag = raw.strip().lower()
        if not tag:
            continue
        if not pattern.fullmatch(tag):
            raise InvalidField(field, f"{raw.strip()!r} is not one (separate them with commas)")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > most:
        raise InvalidField(field, f"at most {most}")
    return tags


def _apply_staff(member: Staff, store: Store, details: StaffDetails) -> None:
    try:
        role = StaffRole(details.role.strip())
    except ValueError:
        raise InvalidField("role", "associate, gemologist, designer or manager") from None
    channel: Channel | None = None
    if details.notice_channel.strip():
        try:
            channel = Channel(details.notice_channel.strip())
        except ValueError:
            raise InvalidField("notice_channel", "sms, whatsapp or email") from None
    phone = details.phone.strip()
    phone_e164 = normalise_phone(phone, store.country) if phone else None
    email = _email("email", details.email)
    if channel in (Channel.SMS, Channel.WHATSAPP) and phone_e164 is None:
        raise InvalidField("phone", f"notices by {channel} need a phone number")
    if channel is Channel.EMAIL and email is None:
        raise InvalidField("email", "notices by email need an email address")
    capacity = _whole("capacity", details.capacity, 1, MAX_CAPACITY)
    member.name = _text("name", details.name, 200, needed=True) or ""
    member.role = role
    member.expertise = _tags("expertise", details.expertise, _TAG, 20)
    member.languages = _tags("languages", details.languages, _LANGUAGE, 10) or ["en"]
    member.capacity = capacity if capacity is not None else 20
    member.notice_channel = channel
    member.phone_e164, member.email = phone_e164, email
    member.active = details.active


def staff_of(session: Session, actor: Actor, store_id: uuid.UUID) -> Sequence[Staff]:
    branch(session, actor, store_id)
    return StaffRepository(session).for_store(store_id)


def staff_member(session: Session, actor: Actor, staff_id: uuid.UUID) -> Staff:
    admin_only(actor)
    member = StaffRepository(session).get(staff_id)
    if member is None or not actor.may_access_store(member.store_id):
        raise OutsideBranch("this staff member is not yours to manage")
    return member


def add_staff(session: Session, actor: Actor, store_id: uuid.UUID, details: StaffDetails) -> Staff:
    """A new member of a branch's staff; routing may give them tasks at once."""
    store = branch(session, actor, store_id)
    member = Staff(store_id=store.id)
    _apply_staff(member, store, details)
    return StaffRepository(session).add(member)


def update_staff(
    session: Session, actor: Actor, staff_id: uuid.UUID, details: StaffDetails
) -> Staff:
    """Change a staff member. Made inactive, they get no new tasks and cannot sign in."""
    member = staff_member(session, actor, staff_id)
    store = branch(session, actor, member.store_id)
    _apply_staff(member, store, details)
    session.flush()
    return member


def invite_staff(
    session: Session, actor: Actor, secret: str, staff_id: uuid.UUID, email: str, now: datetime
) -> accounts.Invitation:
    """A link for a staff member to set their password and sign in as themselves (their role
    and branch come from the staff record). A new link replaces an unused older one."""
    member = staff_member(session, actor, staff_id)
    if not member.active:
        raise InvalidField("staff_id", f"{member.name} is not active")
    address = _email("email", email) or member.email
    if address is None:
        raise InvalidField("email", "an email address to sign in with is needed")
    repository = StaffAccountRepository(session)
    theirs, owner = repository.for_staff(member.id), repository.by_email(address)
    if theirs is not None and theirs.password_hash is not None:
        raise Conflict(f"{member.name} can sign in already, as {theirs.email}")
    if owner is not None and owner.staff_id != member.id:
        raise Conflict(f"{address} is someone else's sign-in")
    if theirs is not None:
        theirs.email = address  # a link not used yet, to another address: this one instead
        session.flush()
    return accounts.invite(
        session, secret, email=address, role=ApiRole.ASSOCIATE, now=now, staff_id=member.id
    )
