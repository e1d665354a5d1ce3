"""Stores (branches)."""

from __future__ import annotations

from collections.abc import Sequence as Seq

from sqlalchemy import select

from db.models import Store
from db.repositories.base import Repository


class StoreRepository(Repository[Store]):
    model = Store

    def all(self) -> Seq[Store]:
        return self.session.scalars(select(Store).order_by(Store.name, Store.id)).all()

    def by_name(self, name: str) -> Store | None:
        return self.session.scalars(select(Store).where(Store.name == name)).first()

    def every(self) -> Seq[Store]:
        return self.session.scalars(select(Store).order_by(Store.name, Store.id)).all()
