"""Two leads that are one person become one.

A person phoned in once and filled in the web form with another number: two leads. A
member of staff who knows them merges the second into the first. The first keeps its own
details and gains what it lacked (a phone, an email, a name, dates, preferences); it takes
over the second's events, messages, tasks, purchases and journeys; their consent is merged
per channel and purpose, where a stop on either wins. The second lead is deleted: its
running journeys find their lead gone and end, as for any deleted lead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.vocabulary import ConsentStatus
from db.models import Consent, Lead
from db.repositories import ConsentRepository, LeadDirectory
from domain.access import Actor
from domain.errors import InvalidField
from domain.events import new_event, record_event_once
from domain.leads import lead_for
from sequences.vocabulary import EventKind

_IDENTITY = ("phone_e164", "email", "pos_customer_id")
_DETAILS = ("first_name", "last_name", "timezone", "language", "preferred_channel", "segment")


@dataclass(frozen=True)
class Merged:
    lead_id: uuid.UUID
    event_id: uuid.UUID


def _merge_consent(session: Session, keep: Lead, other: Lead) -> None:
    """One row per channel and purpose: a stop on either side wins; else the earlier grant."""
    repository = ConsentRepository(session)
    repository.move_history(other.id, keep.id)  # the ledger of both, every record kept
    kept = {(row.channel, row.purpose): row for row in repository.for_lead(keep.id)}
    for row in repository.for_lead(other.id):
        mine = kept.get((row.channel, row.purpose))
        if mine is None:
            row.lead_id = keep.id
            continue
        if (row.status is ConsentStatus.REVOKED and mine.status is not ConsentStatus.REVOKED) or (
            row.status is ConsentStatus.GRANTED
            and mine.status is ConsentStatus.GRANTED
            and row.captured_at < mine.captured_at
        ):
            _take(mine, row)
        session.delete(row)
    session.flush()


def _take(mine: Consent, theirs: Consent) -> None:
    for field in ("status", "legal_basis", "source", "evidence", "captured_at"):
        setattr(mine, field, getattr(theirs, field))
    mine.revoked_at, mine.revoked_via = theirs.revoked_at, theirs.revoked_via


def merge_leads(
    session: Session, actor: Actor, keep_id: uuid.UUID, other_id: uuid.UUID, now: datetime
) -> Merged:
    """Merge lead `other_id` into `keep_id` (both of one branch the actor may see)."""
    if keep_id == other_id:
        raise InvalidField("other", "choose another lead: a lead is already itself")
    keep, other = lead_for(session, keep_id, actor), lead_for(session, other_id, actor)
    if keep.store_id != other.store_id:
        raise InvalidField("other", "the two leads belong to different branches")
    taken = {field: getattr(other, field) for field in _IDENTITY}
    for field in _IDENTITY:  # unique per branch: the second lets go before the first takes
        setattr(other, field, None)
    session.flush()
    for field, value in taken.items():
        if getattr(keep, field) is None:
            setattr(keep, field, value)
    for field in _DETAILS:
        if getattr(keep, field) is None:
            setattr(keep, field, getattr(other, field))
    keep.occasion_dates = {**other.occasion_dates, **keep.occasion_dates}
    keep.attributes = {**other.attributes, **keep.attributes}
    keep.budget_band = keep.budget_band or other.budget_band
    keep.owner_id = keep.owner_id or other.owner_id
    _merge_consent(session, keep, other)
    LeadDirectory(session).move_history(other.id, keep.id)
    session.flush()
    session.delete(other)
    recorded = record_event_once(
        session,
        new_event(
            store_id=keep.store_id,
            lead_id=keep.id,
            key=f"merge:{other_id}",
            kind=EventKind.NOTE,
            source="console",
            payload={"text": "Merged with a duplicate lead", "merged_lead_id": str(other_id)},
            occurred_at=now,
        ),
    )
    session.flush()
    return Merged(keep.id, recorded.event.id)
