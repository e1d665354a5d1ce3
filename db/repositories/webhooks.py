"""Provider callbacks already acted on."""

from __future__ import annotations

import uuid

from db.models import WebhookReceipt
from db.repositories.base import Repository, insert_ignoring_conflicts
from db.types import utcnow


class WebhookReceiptRepository(Repository[WebhookReceipt]):
    model = WebhookReceipt

    def first_time(self, source: str, external_id: str) -> bool:
        """Record a provider callback; False if it was already recorded (a replay)."""
        inserted = self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                WebhookReceipt,
                {
                    "id": uuid.uuid4(),
                    "source": source,
                    "external_id": external_id,
                    "received_at": utcnow(),
                },
            ).returning(WebhookReceipt.id)
        ).scalar()
        return inserted is not None
