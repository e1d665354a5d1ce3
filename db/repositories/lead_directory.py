"""Finding leads the way a person looks for them: part of a name, a phone typed any way, an
email; narrowed by segment, stage, score tier, owner and branch."""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update

from db.instants import recount
from db.models import Enrollment, Event, IntegrationEvent, Lead, Purchase, Task, Touch
from db.repositories.base import Repository


@dataclass(frozen=True)
class LeadFilter:
    """What to look for; every field given must hold. `store_ids` None: every branch."""

    store_ids: Seq[uuid.UUID] | None = None
    name_words: Seq[str] = ()
    email: str | None = None
    phone_digits: str | None = None  # the number's last digits, without a trunk 0 or country
    segment: str | None = None
    stage: str | None = None
    tier: str | None = None
    owner_id: uuid.UUID | None = None
    lead_ids: Seq[uuid.UUID] | None = None  # only these (e.g. the leads going cold)
    limit: int = 50


class LeadDirectory(Repository[Lead]):
    model = Lead

    def search(self, wanted: LeadFilter) -> Seq[Lead]:
        """Matching leads, highest score first, then the most recently changed."""
        query = select(Lead)
        if wanted.store_ids is not None:
            query = query.where(Lead.store_id.in_(wanted.store_ids))
        if wanted.lead_ids is not None:
            query = query.where(Lead.id.in_(wanted.lead_ids))
        for word in wanted.name_words:
            pattern = f"%{word.lower()}%"
            query = query.where(
                or_(
                    func.lower(func.coalesce(Lead.first_name, "")).like(pattern),
                    func.lower(func.coalesce(Lead.last_name, "")).like(pattern),
                )
            )
        if wanted.email:
            query = query.where(Lead.email == wanted.email)
        if wanted.phone_digits:
            query = query.where(Lead.phone_e164.like(f"%{wanted.phone_digits}"))
        conditions = [
            (Lead.segment == wanted.segment) if wanted.segment else None,
            (Lead.stage == wanted.stage) if wanted.stage else None,
            (Lead.priority == wanted.tier) if wanted.tier else None,
            (Lead.owner_id == wanted.owner_id) if wanted.owner_id else None,
        ]
        present = [condition for condition in conditions if condition is not None]
        if present:
            query = query.where(and_(*present))
        order = (Lead.score.is_(None), Lead.score.desc(), Lead.updated_at.desc(), Lead.id)
        return self.session.scalars(query.order_by(*order).limit(wanted.limit)).all()

    def move_history(self, source: uuid.UUID, target: uuid.UUID) -> None:
        """Give `target` everything recorded of `source`: events, messages, tasks, purchases,
        journeys and store systems' deliveries (consent is merged row by row by the caller)."""
        for model in (Event, Touch, Task, Purchase, Enrollment, IntegrationEvent):
            self.session.execute(
                update(model).where(model.lead_id == source).values(lead_id=target)
            )
        # moved past the flush that keeps leads' instants: both recounted from their rows now
        recount(self.session.connection(), [source, target])

    def purchases(self, lead_id: uuid.UUID) -> Seq[Purchase]:
        return self.session.scalars(
            select(Purchase)
            .where(Purchase.lead_id == lead_id)
            .order_by(Purchase.purchased_at.desc())
        ).all()

    def identities(self, store_ids: list[uuid.UUID] | None) -> Seq[Row[Any]]:
        """What telling people apart needs, for every lead of these stores (None: all):
        id, store, names, phone, email, occasion dates, created."""
        query = select(
            Lead.id,
            Lead.store_id,
            Lead.first_name,
            Lead.last_name,
            Lead.phone_e164,
            Lead.email,
            Lead.occasion_dates,
            Lead.created_at,
        )
        if store_ids is not None:
            query = query.where(Lead.store_id.in_(store_ids))
        return self.session.execute(query.order_by(Lead.created_at, Lead.id)).all()
