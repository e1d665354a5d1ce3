"""Touches: the outbox, one row per message sent or held back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq
from datetime import datetime

from sqlalchemy import func, select, update

from core.vocabulary import TouchStatus
from db.models import Touch
from db.repositories.base import After, Repository, after
from db.types import utcnow
from sequences.vocabulary import Purpose


class TouchRepository(Repository[Touch]):
    model = Touch

    def claim(self, touch: Touch) -> tuple[Touch, bool]:
        """Insert the touch unless its idempotency key exists. Returns (row, newly claimed)."""
        return self.insert_once(touch, Touch.idempotency_key)

    def mark_sent(
        self,
        touch_id: uuid.UUID,
        *,
        provider: str,
        provider_message_id: str,
        at: datetime,
        status: TouchStatus = TouchStatus.SENT,
    ) -> Touch:
        """The provider took the message (`status` sent), or the outbox kept it (outbox);
        either way `sent_at` is set, which is what the frequency caps count."""
        touch = self.session.get_one(Touch, touch_id)
        touch.status = status
        touch.provider = provider
        touch.provider_message_id = provider_message_id
        touch.sent_at = at
        self.session.flush()
        return touch

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Touch]:
        return self.session.scalars(
            select(Touch).where(Touch.lead_id == lead_id).order_by(Touch.created_at, Touch.id)
        ).all()

    def page_for_lead(self, lead_id: uuid.UUID, start: After | None, limit: int) -> Seq[Touch]:
        """Up to `limit` of the lead's touches past `start`, by when they were sent (or,
        unsent, created), oldest first."""
        at = func.coalesce(Touch.sent_at, Touch.created_at)
        return self.session.scalars(
            select(Touch)
            .where(Touch.lead_id == lead_id, after(start, at, Touch.id))
            .order_by(at, Touch.id)
            .limit(limit)
        ).all()

    def by_key(self, idempotency_key: str) -> Touch | None:
        return self.session.scalars(
            select(Touch).where(Touch.idempotency_key == idempotency_key)
        ).first()

    def move(self, touch_id: uuid.UUID, *, expected: TouchStatus, to: TouchStatus) -> bool:
        """Compare-and-set the status; False if another attempt moved the touch first."""
        result = self.session.execute(
            update(Touch)
            .where(Touch.id == touch_id, Touch.status == expected)
            .values(status=to, updated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(result, "rowcount", 0))

    def by_provider_message_id(self, provider_message_id: str) -> Touch | None:
        return self.session.scalars(
            select(Touch).where(Touch.provider_message_id == provider_message_id)
        ).first()

    def marketing_sent_times(self, lead_id: uuid.UUID, since: datetime) -> Seq[datetime]:
        """When marketing messages reached the provider (or the outbox) for this lead, across
        all journeys."""
        return self.session.scalars(
            select(Touch.sent_at).where(
                Touch.lead_id == lead_id,
                Touch.purpose == Purpose.MARKETING,
                Touch.sent_at.is_not(None),
                Touch.sent_at >= since,
            )
        ).all()  # type: ignore[return-value]
