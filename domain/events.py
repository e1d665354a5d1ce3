"""Events: what happened to a lead, recorded once by its key, and what journeys hear of it.

Every door records through `record_event_once`: a form retried, a webhook redelivered, a
till that posts the same sale twice all find the first row and change nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from db.models import Event
from db.repositories import EventRepository
from db.types import utcnow
from domain.errors import Conflict
from sequences.model import purchase_facts
from sequences.vocabulary import EventKind


@dataclass(frozen=True)
class Recorded:
    event: Event
    new: bool  # False: the key was recorded before, and `event` is that first row


def new_event(
    *,
    store_id: uuid.UUID,
    lead_id: uuid.UUID,
    key: str,
    kind: EventKind,
    source: str,
    payload: dict[str, Any],
    occurred_at: datetime,
) -> Event:
    """An event row, not yet added to any session: for `record_event_once`, or for a capture,
    which scores its enquiry before writing it."""
    return Event(
        id=uuid.uuid4(),
        store_id=store_id,
        lead_id=lead_id,
        kind=kind.value,
        source=source,
        payload=payload,
        occurred_at=occurred_at,
        recorded_at=utcnow(),
        idempotency_key=key,
    )


def record_event_once(session: Session, event: Event) -> Recorded:
    """The store's event under `event`'s key: the one recorded before, or `event` (built by
    `new_event`), added now."""
    events = EventRepository(session)
    existing = events.by_key(event.store_id, event.idempotency_key)
    if existing is not None:
        return Recorded(existing, new=False)
    return Recorded(events.add(event), new=True)


def enquiry_keys(
    lead_id: uuid.UUID,
    *,
    source: str,
    segment: str | None,
    message: str | None,
    at: datetime,
    window: timedelta,
) -> tuple[str, str]:
    """An enquiry's key in its time bucket (`window` long), and the key the same enquiry had
    in the bucket before. The same person asking the same thing (source, segment, message with
    case and spacing ignored) in one bucket is one event, however often the form is sent."""
    said = " ".join((message or "").split()).casefold()
    digest = hashlib.sha256(f"{source}\n{segment or ''}\n{said}".encode()).hexdigest()[:16]
    bucket = int(at.timestamp() // window.total_seconds())
    return f"enquiry:{lead_id}:{digest}:{bucket}", f"enquiry:{lead_id}:{digest}:{bucket - 1}"


def record_enquiry_once(
    session: Session, event: Event, *, earlier_key: str, window: timedelta
) -> Recorded:
    """Record a returning lead's enquiry (`event`, keyed by `enquiry_keys`) unless the same
    enquiry was recorded less than `window` ago: in this bucket (the unique key; concurrent
    twins collide on it) or near the end of the one before."""
    earlier = EventRepository(session).by_key(event.store_id, earlier_key)
    if earlier is not None and event.occurred_at - earlier.occurred_at < window:
        return Recorded(earlier, new=False)
    return record_event_once(session, event)


def check_same_event(
    recorded: Recorded,
    *,
    lead_id: uuid.UUID | None,
    kind: EventKind,
    payload: dict[str, Any] | None = None,
) -> None:
    """A key given again must name the same event: another lead, kind (or payload) is a
    caller reusing its key for something else. `lead_id=None`: the lead is not known yet."""
    event = recorded.event
    if recorded.new:
        return
    if lead_id is not None and event.lead_id != lead_id:
        what = "lead"
    elif event.kind != kind.value or (payload is not None and event.payload != payload):
        what = "event" if payload is not None else "kind of event"
    else:
        return
    raise Conflict(
        f"event_id {event.idempotency_key!r} was already used for a different {what}; "
        "use a new event_id"
    )


@dataclass(frozen=True)
class Happening:
    """What a journey hears of an event: ids, times and small non-personal facts, never
    contact details or message text (journeys branch on them; `wait_for: {where: …}`)."""

    event_id: uuid.UUID
    kind: EventKind
    occurred_at: datetime
    revenue_minor: int | None = None
    currency: str | None = None
    facts: dict[str, str] = field(default_factory=dict)


# The payload facts a journey may branch on, per kind (`wait_for: {where: …}`): never personal.
_FACTS = {
    EventKind.JOB_STATUS.value: ("status", "job_id"),
    # Which message was opened or clicked: a step can wait for a click on its own email.
    EventKind.EMAIL_OPENED.value: ("step_id", "template"),
    EventKind.EMAIL_CLICKED.value: ("step_id", "template"),
}


def happening(event: Event) -> Happening:
    """An event row as journeys hear it: a sale's revenue; a custom job's id and status; the
    step and template of an email opened or clicked."""
    revenue = event.payload.get("revenue_minor")
    has_revenue = isinstance(revenue, int)
    facts = {
        key: str(event.payload[key]) for key in _FACTS.get(event.kind, ()) if key in event.payload
    }
    if event.kind == EventKind.PURCHASE.value:  # which goals it meets (`goal_when`)
        categories = event.payload.get("categories")
        facts = purchase_facts(
            [str(c) for c in categories] if isinstance(categories, list) else None,
            revenue if has_revenue else None,
        )
    return Happening(
        event_id=event.id,
        kind=EventKind(event.kind),
        occurred_at=event.occurred_at,
        revenue_minor=revenue if has_revenue else None,
        currency=event.payload.get("currency") if has_revenue else None,
        facts=facts,
    )
