"""Scoring models and the bulk reads scoring needs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, select, update

from core.vocabulary import JourneyStatus
from db.models import Enrollment, Event, Lead, Purchase, ScoringModel, Store
from db.repositories.base import Repository


class ScoringModelRepository(Repository[ScoringModel]):
    model = ScoringModel

    def current(self, store_id: uuid.UUID) -> ScoringModel | None:
        """The store's most recently promoted model, or None while the rules score is in use."""
        return self.session.scalars(self._current(ScoringModel, store_id)).first()

    def current_version(self, store_id: uuid.UUID) -> str | None:
        """Only the version of `current` (its body is not read)."""
        return self.session.scalars(self._current(ScoringModel.version, store_id)).first()

    def by_version(self, version: str) -> ScoringModel:
        return self.session.scalars(
            select(ScoringModel).where(ScoringModel.version == version)
        ).one()

    @staticmethod
    def _current(what: Any, store_id: uuid.UUID) -> Select[Any]:
        return (
            select(what)
            .where(ScoringModel.store_id == store_id, ScoringModel.promoted.is_(True))
            .order_by(ScoringModel.promoted_at.desc())
            .limit(1)
        )

    def history(self, store_id: uuid.UUID, limit: int = 20) -> Seq[ScoringModel]:
        return self.session.scalars(
            select(ScoringModel)
            .where(ScoringModel.store_id == store_id)
            .order_by(ScoringModel.created_at.desc())
            .limit(limit)
        ).all()


class QualificationReader(Repository[Lead]):
    """Bulk reads for scoring: plain rows, no ORM objects, so 100,000 leads read quickly."""

    model = Lead

    def lead_ids(
        self, *, after: uuid.UUID | None, limit: int, store_id: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """A page of lead ids in id order, optionally of one store."""
        query = select(Lead.id).order_by(Lead.id).limit(limit)
        if after is not None:
            query = query.where(Lead.id > after)
        if store_id is not None:
            query = query.where(Lead.store_id == store_id)
        return list(self.session.scalars(query).all())

    def store_ids(self) -> list[uuid.UUID]:
        return list(self.session.scalars(select(Store.id).order_by(Store.id)).all())

    def leads(self, lead_ids: Seq[uuid.UUID]) -> Seq[Any]:
        return self.session.execute(
            select(
                Lead.id,
                Lead.store_id,
                Lead.created_at,
                Lead.source,
                Lead.budget_band,
                Lead.budget_minor,
                Lead.budget_currency,
                Lead.occasion_dates,
                Lead.styles,
                Lead.interests,
                Lead.segment,
                Lead.language,
                Lead.attributes,
            ).where(Lead.id.in_(lead_ids))
        ).all()

    def events(self, lead_ids: Seq[uuid.UUID]) -> Seq[Any]:
        return self.session.execute(
            select(Event.lead_id, Event.kind, Event.occurred_at, Event.payload)
            .where(Event.lead_id.in_(lead_ids))
            .order_by(Event.lead_id, Event.occurred_at)
        ).all()

    def purchases(self, lead_ids: Seq[uuid.UUID]) -> Seq[Any]:
        return self.session.execute(
            select(Purchase.lead_id, Purchase.purchased_at).where(Purchase.lead_id.in_(lead_ids))
        ).all()

    def write_scores(self, scores: Seq[dict[str, Any]]) -> None:
        """Store many scores at once (dicts: lead_id, score, priority, version, explanation, at)."""
        if not scores:
            return
        table = cast(Table, Lead.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("lead_id"))
            .values(
                score=bindparam("score"),
                priority=bindparam("priority"),
                score_model_version=bindparam("version"),
                score_explanation=bindparam("explanation"),
                scored_at=bindparam("at"),
            )
        )
        self.session.connection().execute(statement, list(scores))

    def active_lead_ids(self, *, limit: int, store_id: uuid.UUID | None = None) -> list[uuid.UUID]:
        """Leads with a running journey (of one store, or all), for the going-cold sweep."""
        query = select(Enrollment.lead_id).where(Enrollment.status == JourneyStatus.ACTIVE)
        if store_id is not None:
            query = query.join(Lead, Lead.id == Enrollment.lead_id).where(Lead.store_id == store_id)
        return list(self.session.scalars(query.distinct().limit(limit)).all())
