"""Leads: one person, customer or not, found by their identity keys."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from collections.abc import Sequence as Seq

from sqlalchemy import or_, select

from db.models import Lead
from db.repositories.base import Repository


class LeadRepository(Repository[Lead]):
    model = Lead

    def find_by_identity(
        self, store_id: uuid.UUID, *, phone_e164: str | None, email: str | None
    ) -> Lead | None:
        """The store's lead with this phone or email; a phone match wins over an email match."""
        keys = []
        if phone_e164:
            keys.append(Lead.phone_e164 == phone_e164)
        if email:
            keys.append(Lead.email == email)
        if not keys:
            return None
        candidates = self.session.scalars(
            select(Lead).where(Lead.store_id == store_id, or_(*keys))
        ).all()
        for lead in candidates:
            if phone_e164 and lead.phone_e164 == phone_e164:
                return lead
        return candidates[0] if candidates else None

    def by_pos_customer(self, store_id: uuid.UUID, pos_customer_id: str) -> Lead | None:
        return self.session.scalars(
            select(Lead).where(Lead.store_id == store_id, Lead.pos_customer_id == pos_customer_id)
        ).first()

    def by_any_key(
        self,
        store_id: uuid.UUID,
        *,
        phones: Collection[str],
        emails: Collection[str],
        pos_customer_ids: Collection[str],
        ids: Collection[uuid.UUID] = (),
    ) -> Seq[Lead]:
        """The store's leads with any of these phones, emails, POS customer ids or ids (one
        query for many people: an import's unit of work)."""
        keys = [
            column.in_(list(values))
            for column, values in (
                (Lead.phone_e164, phones),
                (Lead.email, emails),
                (Lead.pos_customer_id, pos_customer_ids),
                (Lead.id, ids),
            )
            if values
        ]
        if not keys:
            return []
        return self.session.scalars(select(Lead).where(Lead.store_id == store_id, or_(*keys))).all()

    def by_email(self, email: str) -> Seq[Lead]:
        """Every store's lead with this (normalised) address: one reply address serves all."""
        return self.session.scalars(
            select(Lead).where(Lead.email == email).order_by(Lead.created_at)
        ).all()

    def by_phone(self, phone_e164: str) -> Seq[Lead]:
        """Every store's lead with this number: one sender number serves them all."""
        return self.session.scalars(
            select(Lead).where(Lead.phone_e164 == phone_e164).order_by(Lead.created_at)
        ).all()
