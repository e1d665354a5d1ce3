"""Purchases from the till."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select

from db.models import Purchase, PurchaseReturn
from db.repositories.base import Repository


def item_names(items: list[Any] | None) -> list[str]:
    """The names of a purchase's items (each a name, or a record with one)."""
    return [
        str(item.get("name", item)) if isinstance(item, dict) else str(item) for item in items or []
    ]


class PurchaseRepository(Repository[Purchase]):
    model = Purchase

    def by_transaction(self, store_id: uuid.UUID, pos_transaction_id: str) -> Purchase | None:
        return self.session.scalars(
            select(Purchase).where(
                Purchase.store_id == store_id, Purchase.pos_transaction_id == pos_transaction_id
            )
        ).first()

    def by_transactions(
        self, store_id: uuid.UUID, pos_transaction_ids: Collection[str]
    ) -> dict[str, Purchase]:
        """The store's purchases among these transaction ids, by id (one query)."""
        if not pos_transaction_ids:
            return {}
        return {
            purchase.pos_transaction_id: purchase
            for purchase in self.session.scalars(
                select(Purchase).where(
                    Purchase.store_id == store_id,
                    Purchase.pos_transaction_id.in_(list(pos_transaction_ids)),
                )
            )
        }

    def return_by_refund(self, store_id: uuid.UUID, refund_id: str) -> PurchaseReturn | None:
        return self.session.scalars(
            select(PurchaseReturn).where(
                PurchaseReturn.store_id == store_id, PurchaseReturn.refund_id == refund_id
            )
        ).first()

    def add_return(self, row: PurchaseReturn) -> PurchaseReturn:
        self.session.add(row)
        self.session.flush()
        return row

    def recorded(self, store_id: uuid.UUID, pos_transaction_ids: list[str]) -> set[str]:
        """Which of these transaction ids the store has recorded."""
        if not pos_transaction_ids:
            return set()
        return set(
            self.session.scalars(
                select(Purchase.pos_transaction_id).where(
                    Purchase.store_id == store_id,
                    Purchase.pos_transaction_id.in_(pos_transaction_ids),
                )
            )
        )

    def latest_items(self, lead_id: uuid.UUID) -> list[str]:
        """Names of the items in the lead's latest purchase, for a thank-you's copy."""
        items = self.session.scalar(
            select(Purchase.items)
            .where(Purchase.lead_id == lead_id)
            .order_by(Purchase.purchased_at.desc())
            .limit(1)
        )
        return item_names(items)

    def sales_by_associate(self, store_id: uuid.UUID) -> dict[uuid.UUID, int]:
        """Purchases credited to each staff member at the till."""
        rows = self.session.execute(
            select(Purchase.associate_id, func.count())
            .where(Purchase.store_id == store_id, Purchase.associate_id.is_not(None))
            .group_by(Purchase.associate_id)
        ).all()
        return {staff_id: count for staff_id, count in rows if staff_id is not None}
