"""Stores (branches)."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Store
from db.repositories.base import Repository


class StoreRepository(Repository[Store]):
    model = Store

    def by_name(self, name: str) -> Store | None:
        return self.session.scalars(select(Store).where(Store.name == name)).first()
