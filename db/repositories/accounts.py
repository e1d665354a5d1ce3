"""Staff accounts: the console's sign-ins, found by their normalised email."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select

from core.vocabulary import ApiRole
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

    def owners_of(self, store_id: uuid.UUID) -> list[str]:
        """The emails of the branch's owners: active admin accounts with a password, of this
        branch or of every branch, oldest first."""
        return list(
            self.session.scalars(
                select(StaffAccount.email)
                .where(
                    StaffAccount.role == ApiRole.ADMIN,
                    StaffAccount.active.is_(True),
                    StaffAccount.password_hash.is_not(None),
                    or_(StaffAccount.store_id.is_(None), StaffAccount.store_id == store_id),
                )
                .order_by(StaffAccount.created_at, StaffAccount.email)
            )
        )
