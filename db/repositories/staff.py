"""A store's people."""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq

from sqlalchemy import select

from db.models import Staff
from db.repositories.base import Repository


class StaffRepository(Repository[Staff]):
    model = Staff

    def for_store(self, store_id: uuid.UUID) -> Seq[Staff]:
        return self.session.scalars(
            select(Staff).where(Staff.store_id == store_id).order_by(Staff.name)
        ).all()

    def every(self) -> Seq[Staff]:
        return self.session.scalars(select(Staff).order_by(Staff.store_id, Staff.name)).all()
