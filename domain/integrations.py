"""Store systems that post to Facet: their signing secrets and their inbox.

Secrets. A store system signs each delivery with an HMAC of the body, so Facet must hold the
secret itself (a hash could not verify a signature). It is kept encrypted (Fernet; the key is
derived from SECRET_KEY, so a database copy alone reveals nothing) and shown once when made.
Rotating makes a new secret and keeps the newest previous one live: during the switch both
verify; anything older is retired. `retire_previous` ends the switch.

Inbox. Every delivery is recorded once by (source, event_id) in the same unit of work that
acts on it, with the answer it got: a redelivery is answered the same and changes nothing.
Temporal hears after the commit; a row not yet marked delivered (Temporal was down) has its
effects worked out again — the domain calls are idempotent — so a redelivery tells it then.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from core.vocabulary import ApiRole
from db.models import IntegrationEvent, IntegrationSecret
from db.repositories import (
    IntegrationEventRepository,
    IntegrationSecretRepository,
    StoreRepository,
)
from db.types import utcnow
from domain.access import Actor
from domain.effects import Effects
from domain.errors import InvalidField

KINDS = ("contract", "shopify", "meta")
SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9:._-]{0,99}$")


def _cipher(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"facet:integration-secrets:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


@dataclass(frozen=True)
class IssuedSecret:
    source: str
    secret: str  # shown once
    live: int  # how many secrets now verify (2 during a rotation)


def issue_secret(
    session: Session,
    secret_key: str,
    *,
    source: str,
    kind: str,
    store_id: uuid.UUID,
    now: datetime,
    given: str | None = None,
) -> IssuedSecret:
    """A new signing secret for `source` (made on first use, rotated after): the newest
    previous one stays live, older ones are retired. `given`: the vendor made it (Shopify's
    app secret, Meta's app secret); else Facet makes one."""
    if not SOURCE_PATTERN.match(source):
        raise InvalidField(
            "source", "lower-case letters, digits and : . _ - (at most 100), e.g. jewelmate-mg-road"
        )
    if kind not in KINDS:
        raise InvalidField("kind", f"one of {', '.join(KINDS)}")
    if StoreRepository(session).get(store_id) is None:
        raise InvalidField("store_id", f"no store with id {store_id}")
    repository = IntegrationSecretRepository(session)
    live = repository.live(source)
    if live and (live[0].store_id != store_id or live[0].kind != kind):
        raise InvalidField(
            "source", f"{source!r} already belongs to another store or kind; choose another name"
        )
    repository.retire([row.id for row in live[1:]], now)
    if given is not None and not 8 <= len(given) <= 500:
        raise InvalidField("secret", "the vendor's secret as it gave it (8 to 500 characters)")
    secret = given or secrets.token_urlsafe(32)
    repository.add(
        IntegrationSecret(
            source=source,
            kind=kind,
            store_id=store_id,
            secret_encrypted=_cipher(secret_key).encrypt(secret.encode()).decode(),
            created_at=now,
        )
    )
    return IssuedSecret(source=source, secret=secret, live=min(len(live), 1) + 1)


def retire_previous(session: Session, source: str, now: datetime) -> int:
    """End a rotation: only the newest secret verifies from now on. How many were retired."""
    repository = IntegrationSecretRepository(session)
    older = [row.id for row in repository.live(source)[1:]]
    repository.retire(older, now)
    return len(older)


@dataclass(frozen=True)
class LiveSource:
    """A store system as its deliveries are checked: its branch and the secrets that verify."""

    source: str
    kind: str
    store_id: uuid.UUID
    secrets: list[str]

    @property
    def actor(self) -> Actor:
        """Who a delivery acts as: the store system itself, limited to its branch."""
        return Actor(
            key_id=None,
            name=f"store system {self.source}",
            role=ApiRole.POS,
            store_id=self.store_id,
            staff_id=None,
        )


def live_source(session: Session, secret_key: str, source: str, kind: str) -> LiveSource | None:
    """The source's live secrets (at most two), or None if it has none of this kind."""
    rows = [row for row in IntegrationSecretRepository(session).live(source) if row.kind == kind]
    if not rows:
        return None
    cipher = _cipher(secret_key)
    plain = []
    for row in rows[:2]:
        try:
            plain.append(cipher.decrypt(row.secret_encrypted.encode()).decode())
        except InvalidToken:  # made under another SECRET_KEY: it verifies nothing now
            continue
    return LiveSource(source, kind, rows[0].store_id, plain)


# --- the inbox -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One delivery of a store system, as the door read it (verified, validated)."""

    source: str
    event_id: str
    event_type: str
    store_id: uuid.UUID
    occurred_at: datetime | None
    payload: dict[str, Any]


@dataclass
class Handled:
    """What acting on a delivery did: the lead it concerned, what to answer, what Temporal
    must hear."""

    answer: dict[str, Any]
    lead_id: uuid.UUID | None = None
    effects: Effects = field(default_factory=Effects)


@dataclass(frozen=True)
class Received:
    inbox_id: uuid.UUID
    duplicate: bool
    answer: dict[str, Any]
    effects: Effects


def receive_once(
    session: Session, delivery: Delivery, handle: Callable[[Session], Handled]
) -> Received:
    """Record the delivery and act on it (`handle`), once by (source, event_id)."""
    inbox = IntegrationEventRepository(session)
    row = inbox.by_event_id(delivery.source, delivery.event_id)
    if row is not None:
        effects = Effects() if row.delivered_at is not None else handle(session).effects
        return Received(row.id, duplicate=True, answer=dict(row.answer), effects=effects)
    handled = handle(session)
    row = inbox.add(_inbox_row(delivery, handled.answer))
    finish_delivery(session, row.id, handled)
    return Received(row.id, duplicate=False, answer=dict(handled.answer), effects=handled.effects)


def _inbox_row(delivery: Delivery, answer: dict[str, Any]) -> IntegrationEvent:
    return IntegrationEvent(
        source=delivery.source,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        store_id=delivery.store_id,
        occurred_at=delivery.occurred_at,
        payload=delivery.payload,
        answer=answer,
        received_at=utcnow(),
    )


def mark_delivered(session: Session, inbox_id: uuid.UUID, now: datetime) -> None:
    """Temporal heard the delivery's effects: a redelivery need not tell it again."""
    row = IntegrationEventRepository(session).get(inbox_id)
    if row is not None and row.delivered_at is None:
        row.delivered_at = now


@dataclass(frozen=True)
class Noted:
    inbox_id: uuid.UUID
    done: bool  # acted on, and Temporal told: a redelivery changes nothing
    answer: dict[str, Any]


def note_delivery(session: Session, delivery: Delivery) -> Noted:
    """Record a delivery that is acted on later (its facts must be fetched first: a Meta
    lead), once by (source, event_id)."""
    inbox = IntegrationEventRepository(session)
    row = inbox.by_event_id(delivery.source, delivery.event_id)
    if row is None:
        row = inbox.add(_inbox_row(delivery, {"status": "received"}))
    return Noted(row.id, done=row.delivered_at is not None, answer=dict(row.answer))


def finish_delivery(session: Session, inbox_id: uuid.UUID, handled: Handled) -> None:
    """A noted delivery was acted on: its lead and answer are kept."""
    row = IntegrationEventRepository(session).get(inbox_id)
    assert row is not None, "a noted delivery stays in the inbox"
    row.lead_id = handled.lead_id
    row.answer = handled.answer
    row.processed_at = row.processed_at or utcnow()
