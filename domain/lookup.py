"""Finding a lead, and everything the console shows on a lead's page.

A person types what they have — part of a name, a phone number in any format, an email —
and sees only the branches they may see (`Actor`). The lead's page is one read: the card
the inbox shows, how to reach them, consent per channel, the timeline (every message,
including those held or suppressed, with the reason), journeys, tasks and purchases.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from db.models import Lead, Staff, Store
from db.repositories import (
    ConsentRepository,
    EnrollmentRepository,
    EventRepository,
    LeadDirectory,
    LeadFilter,
    StaffRepository,
    StoreRepository,
    TaskRepository,
    TouchRepository,
)
from db.repositories.purchases import item_names
from domain.access import Actor
from domain.inbox import LeadCard, lead_card
from domain.leads import lead_for, normalise_email
from domain.scoring import cold_leads
from qualification.config import QualificationConfig
from qualification.scoring import spoken_money

_DIGITS = re.compile(r"\d")
_LETTERS = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class LeadQuery:
    text: str = ""
    segment: str | None = None
    stage: str | None = None
    tier: str | None = None
    owner_id: uuid.UUID | None = None
    store_id: uuid.UUID | None = None
    going_cold: bool = False
    limit: int = 50


@dataclass(frozen=True)
class LeadRow:
    id: uuid.UUID
    name: str
    phone: str | None
    email: str | None
    segment: str | None
    stage: str
    score: int | None
    tier: str | None
    owner: str | None
    branch: str
    updated_at: datetime


def _filter(
    query: LeadQuery, stores: list[uuid.UUID] | None, only: list[uuid.UUID] | None = None
) -> LeadFilter:
    """What the words typed mean: an email, a phone number (its last digits, however it was
    written: spaces, dashes, a trunk 0 or the country code), or parts of a name."""
    text = query.text.strip()
    email = phone = None
    words: list[str] = []
    if "@" in text:
        try:
            email = normalise_email(text)
        except ValueError:
            email = text.lower()
    elif len(_DIGITS.findall(text)) >= 6 and not _LETTERS.search(text):
        phone = "".join(_DIGITS.findall(text)).lstrip("0")
    else:
        words = [word for word in text.split() if word][:4]
    return LeadFilter(
        store_ids=stores,
        name_words=words,
        email=email,
        phone_digits=phone,
        segment=query.segment,
        stage=query.stage,
        tier=query.tier,
        owner_id=query.owner_id,
        lead_ids=only,
        limit=query.limit,
    )


def _stores(actor: Actor, store_id: uuid.UUID | None) -> list[uuid.UUID] | None:
    if store_id is not None:
        actor.check_store(store_id)
        return [store_id]
    return [actor.store_id] if actor.store_id is not None else None


def _name(lead: Lead) -> str:
    return " ".join(part for part in (lead.first_name, lead.last_name) if part) or "(no name)"


def _rows(session: Session, leads: Sequence[Lead]) -> list[LeadRow]:
    staff = StaffRepository(session)
    owners = {
        owner_id: row.name
        for owner_id in {lead.owner_id for lead in leads if lead.owner_id}
        if (row := staff.get(owner_id))
    }
    branches = {
        store_id: session.get_one(Store, store_id).name
        for store_id in {lead.store_id for lead in leads}
    }
    return [
        LeadRow(
            id=lead.id,
            name=_name(lead),
            phone=lead.phone_e164,
            email=lead.email,
            segment=lead.segment,
            stage=lead.stage.value,
            score=lead.score,
            tier=lead.priority,
            owner=owners.get(lead.owner_id) if lead.owner_id else None,
            branch=branches[lead.store_id],
            updated_at=lead.updated_at,
        )
        for lead in leads
    ]


def _namesakes(session: Session, lead: Lead) -> list[LeadRow]:
    words = [name for name in (lead.first_name, lead.last_name) if name]
    if not words:
        return []
    found = LeadDirectory(session).search(
        LeadFilter(store_ids=[lead.store_id], name_words=words, limit=6)
    )
    return _rows(session, [other for other in found if other.id != lead.id][:5])


def find_leads(
    session: Session,
    actor: Actor,
    query: LeadQuery,
    config: QualificationConfig | None = None,
    now: datetime | None = None,
) -> list[LeadRow]:
    """Leads matching what was typed and the filters, in the branches the actor may see.
    Going cold: in an active journey and silent for their segment's days (the same rule as
    the nightly going-cold sweep; needs the qualification `config`)."""
    stores = _stores(actor, query.store_id)
    only = None
    if query.going_cold and config is not None and now is not None:
        only = [
            cold.lead_id
            for store_id in (list[uuid.UUID | None](stores) if stores else [None])
            for cold in cold_leads(session, config, now, store_id)
        ]
    leads = LeadDirectory(session).search(_filter(query, stores, only))
    return _rows(session, leads)


def branches(session: Session, actor: Actor) -> list[tuple[uuid.UUID, str]]:
    """The branches a list may be narrowed to: every one, for whoever may see them all."""
    if actor.store_id is not None:
        return []
    return [(store.id, store.name) for store in StoreRepository(session).all()]


def people(session: Session, actor: Actor) -> list[tuple[uuid.UUID, str]]:
    """Whom a list may be narrowed to as owner: the active staff of the actor's branch."""
    if actor.store_id is None:
        return []
    return [
        (row.id, row.name)
        for row in StaffRepository(session).for_store(actor.store_id)
        if row.active
    ]


# --- the lead's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRow:
    channel: str
    purpose: str
    status: str
    source: str
    evidence: str | None
    captured_at: datetime
    revoked_at: datetime | None
    revoked_via: str | None


@dataclass(frozen=True)
class ConsentChangeRow:
    """One record of the consent ledger, as the lead's page lists it (newest first)."""

    at: datetime
    channel: str
    purpose: str
    status: str
    source: str
    captured_by: str
    captured_by_name: str | None
    evidence: str | None


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: something that happened, or a message (sent or not)."""

    at: datetime
    message: bool
    title: str
    detail: str | None
    status: str | None = None
    reason: str | None = None
    held_until: datetime | None = None
    to_staff: bool = False


@dataclass(frozen=True)
class JourneyRow:
    sequence_key: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    workflow_id: str
    run: int = 1
    credited: str | None = None  # the revenue credited to it, as a person reads it


@dataclass(frozen=True)
class TaskRow:
    id: uuid.UUID
    kind: str
    status: str
    reason: str
    assignee: str | None
    sla_due_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class PurchaseRow:
    at: datetime
    amount: str
    items: list[str]


@dataclass(frozen=True)
class LeadPage:
    card: LeadCard
    phone: str | None
    email: str | None
    language: str | None
    timezone: str | None
    source: str
    created_at: datetime
    owner: str | None
    branch: str
    consents: list[ConsentRow]
    timeline: list[Entry]
    consent_history: list[ConsentChangeRow]
    journeys: list[JourneyRow]
    tasks: list[TaskRow]
    purchases: list[PurchaseRow]
    # Other leads of the branch with the same name: perhaps one person, to be merged.
    namesakes: list[LeadRow]


def _payload_text(payload: dict[str, Any]) -> str | None:
    for key in ("text", "message", "note", "outcome", "product", "category"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _timeline(session: Session, lead_id: uuid.UUID) -> list[Entry]:
    entries = [
        Entry(
            at=event.occurred_at,
            message=False,
            title=event.kind.replace("_", " "),
            detail=_payload_text(event.payload),
            status=event.source,
        )
        for event in EventRepository(session).for_lead(lead_id)
    ]
    entries += [
        Entry(
            at=touch.sent_at or touch.created_at,
            message=True,
            title=f"{touch.channel.value if touch.channel else 'no channel'} · {touch.template}",
            detail=touch.subject or touch.body,
            status=touch.status.value,
            reason=touch.reason,
            held_until=touch.held_until,
            to_staff=touch.staff_id is not None,
        )
        for touch in TouchRepository(session).for_lead(lead_id)
    ]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def lead_page(session: Session, lead_id: uuid.UUID, actor: Actor) -> LeadPage:
    """Everything about one lead the actor may see (another branch's lead is not found)."""
    lead = lead_for(session, lead_id, actor)
    staff = StaffRepository(session)

    def name_of(staff_id: uuid.UUID | None) -> str | None:
        row: Staff | None = staff.get(staff_id) if staff_id else None
        return row.name if row else None

    return LeadPage(
        card=lead_card(session, lead),
        phone=lead.phone_e164,
        email=lead.email,
        language=lead.language,
        timezone=lead.timezone,
        source=lead.source,
        created_at=lead.created_at,
        owner=name_of(lead.owner_id),
        branch=session.get_one(Store, lead.store_id).name,
        consents=[
            ConsentRow(
                channel=row.channel.value,
                purpose=row.purpose.value,
                status=row.status.value,
                source=row.source,
                evidence=row.evidence,
                captured_at=row.captured_at,
                revoked_at=row.revoked_at,
                revoked_via=row.revoked_via,
            )
            for row in ConsentRepository(session).for_lead(lead.id)
        ],
        timeline=_timeline(session, lead.id),
        consent_history=[
            ConsentChangeRow(
                at=record.given_at,
                channel=record.channel.value,
                purpose=record.purpose.value,
                status=record.status.value,
                source=record.source,
                captured_by=record.captured_by,
                captured_by_name=record.captured_by_name,
                evidence=record.evidence,
            )
            for record in reversed(ConsentRepository(session).history(lead.id))
        ],
        journeys=[
            JourneyRow(
                sequence_key=row.sequence_key,
                status=row.status.value,
                started_at=row.started_at,
                ended_at=row.ended_at,
                outcome=row.outcome,
                workflow_id=row.workflow_id,
                run=row.run,
                credited=(
                    spoken_money(row.revenue_minor, row.currency)
                    if row.revenue_minor is not None and row.currency
                    else None
                ),
            )
            for row in EnrollmentRepository(session).for_lead(lead.id)
        ],
        tasks=[
            TaskRow(
                id=task.id,
                kind=task.kind.replace("_", " "),
                status=task.status.value,
                reason=task.reason,
                assignee=name_of(task.assignee_id),
                sla_due_at=task.sla_due_at,
                outcome=task.outcome,
            )
            for task in TaskRepository(session).for_lead(lead.id)
        ],
        namesakes=_namesakes(session, lead),
        purchases=[
            PurchaseRow(
                at=row.purchased_at,
                amount=spoken_money(row.amount_minor, row.currency),
                items=item_names(row.items),
            )
            for row in LeadDirectory(session).purchases(lead.id)
        ],
    )
