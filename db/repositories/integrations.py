"""Store systems: their signing secrets, their inbox, and how they know a lead."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from collections.abc import Sequence as Seq
from datetime import datetime

from sqlalchemy import select, update

from db.models import IntegrationEvent, IntegrationSecret, LeadExternalId
from db.repositories.base import Repository


class IntegrationSecretRepository(Repository[IntegrationSecret]):
    model = IntegrationSecret

    def live(self, source: str) -> Seq[IntegrationSecret]:
        """The source's secrets not retired, newest first."""
        return self.session.scalars(
            select(IntegrationSecret)
            .where(IntegrationSecret.source == source, IntegrationSecret.retired_at.is_(None))
            .order_by(IntegrationSecret.created_at.desc(), IntegrationSecret.id)
        ).all()

    def retire(self, secret_ids: list[uuid.UUID], now: datetime) -> None:
        if secret_ids:
            self.session.execute(
                update(IntegrationSecret)
                .where(IntegrationSecret.id.in_(secret_ids))
                .values(retired_at=now)
            )


class IntegrationEventRepository(Repository[IntegrationEvent]):
    model = IntegrationEvent

    def by_event_id(self, source: str, event_id: str) -> IntegrationEvent | None:
        return self.session.scalars(
            select(IntegrationEvent).where(
                IntegrationEvent.source == source, IntegrationEvent.event_id == event_id
            )
        ).first()


class ExternalIdRepository(Repository[LeadExternalId]):
    model = LeadExternalId

    def lead_id(self, store_id: uuid.UUID, source: str, external_id: str) -> uuid.UUID | None:
        return self.session.scalar(
            select(LeadExternalId.lead_id).where(
                LeadExternalId.store_id == store_id,
                LeadExternalId.source == source,
                LeadExternalId.external_id == external_id,
            )
        )

    def lead_ids(
        self, store_id: uuid.UUID, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], uuid.UUID]:
        """The leads these (source, external id) pairs name, in one query."""
        if not keys:
            return {}
        sources = {source for source, _ in keys}
        ids = {external_id for _, external_id in keys}
        rows = self.session.execute(
            select(LeadExternalId.source, LeadExternalId.external_id, LeadExternalId.lead_id).where(
                LeadExternalId.store_id == store_id,
                LeadExternalId.source.in_(sources),
                LeadExternalId.external_id.in_(ids),
            )
        ).all()
        return {(source, external_id): lead_id for source, external_id, lead_id in rows}

    def for_lead(self, lead_id: uuid.UUID) -> Seq[LeadExternalId]:
        return self.session.scalars(
            select(LeadExternalId)
            .where(LeadExternalId.lead_id == lead_id)
            .order_by(LeadExternalId.source, LeadExternalId.external_id)
        ).all()

    def move(self, source_lead: uuid.UUID, target_lead: uuid.UUID) -> int:
        """Give `target_lead` the other lead's external ids; how many moved."""
        moved = self.session.execute(
            update(LeadExternalId)
            .where(LeadExternalId.lead_id == source_lead)
            .values(lead_id=target_lead)
        )
        return int(getattr(moved, "rowcount", 0) or 0)
