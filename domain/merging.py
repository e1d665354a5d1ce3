"""Two leads that are one person become one.

A person phoned in once and filled in the web form with another number: two leads. A
member of staff who knows them merges the second into the first. The first keeps its own
details and gains what it lacked (a phone, an email, a name, dates, preferences); it takes
over the second's events, messages, tasks, purchases, journeys and external ids (how other
systems know them); their consent is merged per channel and purpose, where a stop on either
wins. The second lead is deleted: its running journeys find their lead gone and end, as for
any deleted lead, and their rows end as "merged".

One running journey per sequence: where both ran one, the first's goes on; a sequence only the
second was in starts for the first (on the version the second ran; a journey's workflow is
keyed by its lead, so it cannot simply carry on), as do countdowns for dates it gained. The
merge is on the timeline: who did it, which lead it joined and what moved.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.vocabulary import ConsentStatus, JourneyStatus
from core.workflow_ids import journey_workflow_id
from db.models import Consent, Enrollment, Event, Lead, Purchase, Touch
from db.repositories import (
    ConsentRepository,
    EnrollmentRepository,
    ExternalIdRepository,
    LeadDirectory,
    SequenceRepository,
)
from domain.access import Actor
from domain.effects import Effects
from domain.enrollment import plan_countdowns, plan_journey
from domain.errors import InvalidField
from domain.events import new_event, record_event_once
from domain.leads import lead_for
from domain.reference import Reference
from sequences.vocabulary import EventKind

_IDENTITY = ("phone_e164", "email", "pos_customer_id")
_DETAILS = ("first_name", "last_name", "timezone", "language", "preferred_channel", "segment")


@dataclass(frozen=True)
class Merged:
    lead_id: uuid.UUID
    event_id: uuid.UUID
    # The journeys the kept lead starts for sequences only the other was in, and countdowns.
    effects: Effects = dataclasses.field(default_factory=Effects)


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


def _count(session: Session, model: type[Event | Touch | Purchase], lead_id: uuid.UUID) -> int:
    return int(
        session.scalar(select(func.count()).select_from(model).where(model.lead_id == lead_id)) or 0
    )


def _end_journeys(
    session: Session, keep: Lead, other: Lead, now: datetime
) -> tuple[list[str], list[Enrollment]]:
    """End the other lead's running journeys: the ended workflow ids, and the enrollments
    of sequences the kept lead is not in (it starts those)."""
    enrollments = EnrollmentRepository(session)
    running = {row.sequence_key for row in enrollments.active_for_lead(keep.id)}
    ended: list[str] = []
    wanted: list[Enrollment] = []
    for row in enrollments.active_for_lead(other.id):
        row.status, row.ended_at, row.outcome = JourneyStatus.EXITED, now, "merged"
        ended.append(row.workflow_id)
        is_journey = row.workflow_id == journey_workflow_id(other.id, row.sequence_key, row.run)
        if is_journey and row.sequence_key not in running:
            wanted.append(row)
    session.flush()
    return ended, wanted


def _plan(
    session: Session, reference: Reference | None, keep: Lead, wanted: list[Enrollment]
) -> Effects:
    """The kept lead's journeys in the sequences only the other was in (on the version the
    other ran), and its countdowns for every date it now has."""
    effects = Effects()
    if reference is None:
        return effects
    sequences = SequenceRepository(session)
    for row in wanted:
        version = sequences.get(row.sequence_version_id)
        if version is not None:
            effects.journeys.append(plan_journey(session, reference, keep, version))
    effects.countdowns = plan_countdowns(session, reference, keep)
    return effects


def merge_leads(
    session: Session,
    actor: Actor,
    keep_id: uuid.UUID,
    other_id: uuid.UUID,
    now: datetime,
    reference: Reference | None = None,
) -> Merged:
    """Merge lead `other_id` into `keep_id` (both of one branch the actor may see). With the
    `reference`, the kept lead's journeys for the other's sequences are planned too."""
    if keep_id == other_id:
        raise InvalidField("other", "choose another lead: a lead is already itself")
    keep, other = lead_for(session, keep_id, actor), lead_for(session, other_id, actor)
    if keep.store_id != other.store_id:
        raise InvalidField("other", "the two leads belong to different branches")
    moved = {
        "events": _count(session, Event, other.id),
        "messages": _count(session, Touch, other.id),
        "purchases": _count(session, Purchase, other.id),
    }
    joined = " ".join(name for name in (other.first_name, other.last_name) if name) or None
    ended, wanted = _end_journeys(session, keep, other, now)
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
    external = ExternalIdRepository(session)
    external.move(other.id, keep.id)
    session.flush()
    session.delete(other)
    session.flush()
    effects = _plan(session, reference, keep, wanted)
    recorded = record_event_once(
        session,
        new_event(
            store_id=keep.store_id,
            lead_id=keep.id,
            key=f"merge:{other_id}",
            kind=EventKind.NOTE,
            source="console",
            payload={
                "text": f"Merged with a duplicate lead{f' ({joined})' if joined else ''}"
                f" by {actor.name}",
                "merged_lead_id": str(other_id),
                "merged_by": actor.name,
                "merged_by_staff_id": str(actor.staff_id) if actor.staff_id else None,
                "moved": {
                    **moved,
                    "journeys_ended": ended,
                    "external_ids": [
                        f"{row.source}:{row.external_id}" for row in external.for_lead(keep.id)
                    ],
                },
            },
            occurred_at=now,
        ),
    )
    session.flush()
    return Merged(keep.id, recorded.event.id, effects)


# --- likely duplicates ---------------------------------------------------------------------


@dataclass(frozen=True)
class LikelyDuplicate:
    """Two leads that look like one person, for someone to confirm: `keep` is the older."""

    keep_id: uuid.UUID
    keep_name: str
    other_id: uuid.UUID
    other_name: str
    store_id: uuid.UUID
    reasons: list[str]
    keep_contact: str = ""  # how each is reached, to tell two "Tara Menon"s apart
    other_contact: str = ""


_GMAIL = ("gmail.com", "googlemail.com")


def _mailbox(email: str) -> str:
    """An address as its mailbox: no +tag; for Gmail, no dots (they deliver to one inbox)."""
    local, _, domain = email.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _full_name(first: str | None, last: str | None) -> str | None:
    words = " ".join(part for part in (first, last) if part).casefold().split()
    return " ".join(words) if len(words) >= 2 else None


def likely_duplicates(
    session: Session, actor: Actor, store_id: uuid.UUID | None = None, limit: int = 50
) -> list[LikelyDuplicate]:
    """Pairs of leads of one branch that look like one person: the same mailbox (an address
    with a +tag or Gmail's dots), the same number but for its country code, or the same full
    name with the same birthday, or with one known only by phone and the other only by email.
    Oldest pairs first; `limit` pairs at most."""
    if store_id is not None:
        actor.check_store(store_id)
    stores = [store_id] if store_id else ([actor.store_id] if actor.store_id else None)
    rows = LeadDirectory(session).identities(stores)
    keys: dict[tuple[uuid.UUID, str, str], list[Any]] = {}
    for row in rows:
        name = _full_name(row.first_name, row.last_name)
        wanted = []
        if row.email:
            wanted.append(("same mailbox", _mailbox(row.email)))
        if row.phone_e164 and len(row.phone_e164) >= 11:
            wanted.append(("same number but for the country code", row.phone_e164[-10:]))
        birthday = (row.occasion_dates or {}).get("birthday")
        if name and birthday:
            wanted.append(("same name and birthday", f"{name}|{birthday}"))
        if name and bool(row.phone_e164) != bool(row.email):
            wanted.append(("same name, one known by phone and one by email", name))
        for reason, value in wanted:
            keys.setdefault((row.store_id, reason, value), []).append(row)
    pairs: dict[tuple[uuid.UUID, uuid.UUID], list[str]] = {}
    named: dict[uuid.UUID, str] = {}
    for (_, reason, _), group in keys.items():
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if reason.startswith("same name, one") and (
                    bool(first.phone_e164) == bool(second.phone_e164)
                ):
                    continue  # both by phone (or both by email) and different: two people
                if reason == "same mailbox" and first.email == second.email:
                    continue
                found = pairs.setdefault((first.id, second.id), [])
                if reason not in found:
                    found.append(reason)
                for lead in (first, second):
                    named[lead.id] = (
                        " ".join(p for p in (lead.first_name, lead.last_name) if p) or "(no name)"
                    )
    store_of = {row.id: row.store_id for row in rows}
    contact = {row.id: " · ".join(v for v in (row.phone_e164, row.email) if v) for row in rows}
    order = {row.id: index for index, row in enumerate(rows)}  # oldest first
    ranked = sorted(pairs.items(), key=lambda pair: (order[pair[0][0]], order[pair[0][1]]))
    return [
        LikelyDuplicate(
            keep,
            named[keep],
            other,
            named[other],
            store_of[keep],
            reasons,
            keep_contact=contact[keep],
            other_contact=contact[other],
        )
        for (keep, other), reasons in ranked[:limit]
    ]
