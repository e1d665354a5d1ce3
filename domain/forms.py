"""Hosted enquiry forms: a branch's public form for a source (its website, its Instagram bio
link, a printed QR code, a stand at an exhibition) and the walk-in tablet in the store.

A visitor has no key and no account: the form acts for its branch alone, as a capture would
through `POST /v1/leads`, and goes through the same `intake.capture`, so the welcome journey
starts. The consent wording the visitor was shown is the evidence the ledger keeps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.settings import Settings
from core.vocabulary import ApiRole, LeadSource
from db.repositories import StoreRepository
from domain.access import Actor
from domain.intake import Captured, capture
from domain.leads import Details, Identity
from domain.reference import Reference
from sequences.vocabulary import Channel, Segment

# The sources a hosted form may be for, as the staff page names them.
FORM_SOURCES = {
    LeadSource.WEB_FORM: "Website",
    LeadSource.INSTAGRAM: "Instagram bio link",
    LeadSource.QR: "Printed QR code",
    LeadSource.WALK_IN: "Walk-in tablet",
    LeadSource.REFERRAL: "Referral",
}

# What the visitor may say they are looking for, in their words.
INTERESTS = {
    Segment.ENGAGEMENT: "An engagement ring",
    Segment.BRIDAL: "Bridal jewellery",
    Segment.CUSTOM_DESIGN: "A piece designed for me",
    Segment.ANNIVERSARY: "An anniversary gift",
    Segment.GIFTING: "A gift",
    Segment.DAILY_WEAR: "Everyday jewellery",
    Segment.GOLD_SCHEME: "A gold savings scheme",
    Segment.REPAIR: "A repair or resizing",
}

CONSENT_CHANNELS = {
    Channel.WHATSAPP: "WhatsApp",
    Channel.SMS: "SMS",
    Channel.EMAIL: "Email",
}


@dataclass(frozen=True)
class FormStore:
    """What a public form shows of its branch."""

    id: uuid.UUID
    name: str
    country: str


def form_store(session: Session, store_id: uuid.UUID) -> FormStore | None:
    store = StoreRepository(session).get(store_id)
    return FormStore(store.id, store.name, store.country) if store is not None else None


def consent_wording(store_name: str) -> str:
    """The sentence beside the consent boxes; what the visitor agreed to, word for word."""
    return (
        f"Yes, {store_name} may send me news, offers and reminders about jewellery on the "
        "channels I ticked. I can reply STOP or unsubscribe at any time."
    )


@dataclass(frozen=True)
class Enquiry:
    """A form as the visitor filled it in, checked by the door (`phone` as typed)."""

    store_id: uuid.UUID
    source: LeadSource
    campaign: str | None
    tablet: bool
    name: str
    phone: str | None
    email: str | None
    message: str | None
    interest: Segment | None
    reply_by: Channel | None
    consented: list[Channel]


def where_from(enquiry: Enquiry) -> str:
    """How the ledger names the form the consent was given on."""
    form = "walk-in tablet" if enquiry.tablet else f"{enquiry.source.value} form"
    return f"{form}, campaign {enquiry.campaign}" if enquiry.campaign else form


def capture_enquiry(
    session: Session, reference: Reference, settings: Settings, enquiry: Enquiry
) -> Captured:
    """Capture the visitor as `POST /v1/leads` would, acting for the form's branch only."""
    store = form_store(session, enquiry.store_id)
    wording = consent_wording(store.name) if store is not None else ""
    first, _, last = enquiry.name.strip().partition(" ")
    reply_by = enquiry.reply_by or (Channel.WHATSAPP if enquiry.phone else Channel.EMAIL)
    return capture(
        session,
        reference,
        settings,
        Actor(None, "enquiry form", ApiRole.ASSOCIATE, enquiry.store_id, None),
        store_id=enquiry.store_id,
        source=enquiry.source.value,
        who=Identity(phone=enquiry.phone, email=enquiry.email),
        details=Details(
            first_name=first or None,
            last_name=last.strip() or None,
            preferred_channel=reply_by,
            segment=enquiry.interest.value if enquiry.interest else None,
        ),
        message=enquiry.message,
        consented=enquiry.consented,
        consent_evidence=f'{where_from(enquiry)}: "{wording}"' if enquiry.consented else None,
    )


def branches_of(session: Session, actor: Actor) -> list[FormStore]:
    """The branches whose forms the actor may hand out: theirs, or every one."""
    stores = StoreRepository(session)
    if actor.store_id is not None:
        found = stores.get(actor.store_id)
        return [FormStore(found.id, found.name, found.country)] if found else []
    return [FormStore(store.id, store.name, store.country) for store in stores.all()]
