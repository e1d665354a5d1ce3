"""Stores (branches)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from db.models import (
    Store,
)
from db.recent import Recent
from db.repositories.base import Repository


@dataclass(frozen=True)
class StoreProfile:
    """What a capture needs of its store: where it is and the language it speaks."""

    id: uuid.UUID
    country: str
    timezone: str
    locale: str


_PROFILES: Recent[StoreProfile] = Recent()


class StoreRepository(Repository[Store]):
    model = Store

    def profile(self, store_id: uuid.UUID) -> StoreProfile | None:
        """The store's country, time zone and language; read a few seconds ago at most
        (db.recent: every capture asks, and stores are not edited through Facet)."""

        def load() -> StoreProfile | None:
            store = self.get(store_id)
            if store is None:
                return None
            return StoreProfile(store.id, store.country, store.timezone, store.locale)

        return _PROFILES.get(self.session, store_id, load)

    def by_name(self, name: str) -> Store | None:
        return self.session.scalars(select(Store).where(Store.name == name)).first()
