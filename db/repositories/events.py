"""Events: append-only, unique by idempotency key within a store."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from collections.abc import Sequence as Seq
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from db.models import Event
from db.repositories.base import After, Repository, after


class EventRepository(Repository[Event]):
    model = Event

    def by_key(self, store_id: uuid.UUID, idempotency_key: str) -> Event | None:
        return self.session.scalars(
            select(Event).where(
                Event.store_id == store_id, Event.idempotency_key == idempotency_key
            )
        ).first()

    def by_keys(self, store_id: uuid.UUID, idempotency_keys: Collection[str]) -> dict[str, Event]:
        """The store's events under these keys, by key (one query)."""
        if not idempotency_keys:
            return {}
        return {
            event.idempotency_key: event
            for event in self.session.scalars(
                select(Event).where(
                    Event.store_id == store_id, Event.idempotency_key.in_(list(idempotency_keys))
                )
            )
        }

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Event]:
        return self.session.scalars(
            select(Event).where(Event.lead_id == lead_id).order_by(Event.occurred_at, Event.id)
        ).all()

    def payloads_of_kinds(
        self, lead_id: uuid.UUID, kinds: Collection[str], *, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The payloads of the lead's latest events of these kinds (what they viewed, asked)."""
        return list(
            self.session.scalars(
                select(Event.payload)
                .where(Event.lead_id == lead_id, Event.kind.in_(list(kinds)))
                .order_by(Event.occurred_at.desc())
                .limit(limit)
            )
        )

    def page_for_lead(self, lead_id: uuid.UUID, start: After | None, limit: int) -> Seq[Event]:
        """Up to `limit` of the lead's events past `start`, oldest first (one indexed query)."""
        return self.session.scalars(
            select(Event)
            .where(Event.lead_id == lead_id, after(start, Event.occurred_at, Event.id))
            .order_by(Event.occurred_at, Event.id)
            .limit(limit)
        ).all()

    def last_inbound(self, lead_id: uuid.UUID, source: str) -> datetime | None:
        """When the lead last wrote to us through `source` (e.g. "whatsapp"), if ever."""
        return self.session.scalar(
            select(func.max(Event.occurred_at)).where(
                Event.lead_id == lead_id,
                Event.source == source,
                Event.kind.in_(["inbound_message", "reply", "captured", "enquiry"]),
            )
        )
