"""Staff accounts: the console's sign-ins, found by their normalised email."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from db.models import StaffAccount
from db.repositories.base import Repository


class StaffAccountRepository(Repository[StaffAccount]):
    model = StaffAccount

    def by_email(self, email: str) -> StaffAccount | None:
        return self.session.scalars(select(StaffAccount).where(StaffAccount.email == email)).first()

    def for_staff(self, staff_id: uuid.UUID) -> StaffAccount | None:
        return self.session.scalars(
            select(StaffAccount).where(StaffAccount.staff_id == staff_id)
        ).first()
