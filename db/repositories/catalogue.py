"""The store's catalogue (products by SKU) and its CSV import runs."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select, update

from db.models import ImportRun, OutboundCall, Product
from db.repositories.base import Repository, insert_ignoring_conflicts
from db.types import utcnow


class ProductRepository(Repository[Product]):
    model = Product

    def by_sku(self, store_id: uuid.UUID, sku: str) -> Product | None:
        return self.session.scalars(
            select(Product).where(Product.store_id == store_id, Product.sku == sku)
        ).first()

    def of_source(
        self, store_id: uuid.UUID, source: str, skus: Collection[str]
    ) -> dict[str, Product]:
        """The store's pieces from `source` among these SKUs, by SKU."""
        if not skus:
            return {}
        found = self.session.scalars(
            select(Product).where(
                Product.store_id == store_id, Product.source == source, Product.sku.in_(skus)
            )
        )
        return {product.sku: product for product in found}

    def active_skus(self, store_id: uuid.UUID, source: str) -> set[str]:
        return set(
            self.session.scalars(
                select(Product.sku).where(
                    Product.store_id == store_id, Product.source == source, Product.active
                )
            )
        )

    def deactivate(self, store_id: uuid.UUID, skus: Collection[str]) -> int:
        """Mark these SKUs inactive; how many were."""
        done = 0
        ordered = sorted(skus)
        for start in range(0, len(ordered), 500):
            result = self.session.execute(
                update(Product)
                .where(Product.store_id == store_id, Product.sku.in_(ordered[start : start + 500]))
                .values(active=False)
            )
            done += getattr(result, "rowcount", 0) or 0
        return done

    def in_stock(self, store_id: uuid.UUID, *, limit: int = 500) -> list[Product]:
        """The store's active pieces with stock, cheapest first."""
        return list(
            self.session.scalars(
                select(Product)
                .where(Product.store_id == store_id, Product.active, Product.stock > 0)
                .order_by(Product.price_minor, Product.sku)
                .limit(limit)
            )
        )


class ImportRunRepository(Repository[ImportRun]):
    model = ImportRun

    def recent(
        self, store_ids: Collection[uuid.UUID] | None, *, limit: int = 10
    ) -> list[ImportRun]:
        query = select(ImportRun).order_by(ImportRun.started_at.desc()).limit(limit)
        if store_ids is not None:
            query = query.where(ImportRun.store_id.in_(store_ids))
        return list(self.session.scalars(query))

    def running(self) -> list[ImportRun]:
        """Every run whose row says it is running (a few at most)."""
        return list(self.session.scalars(select(ImportRun).where(ImportRun.status == "running")))


class OutboundCallRepository(Repository[OutboundCall]):
    model = OutboundCall

    def claim(self, store_id: uuid.UUID, key: str) -> OutboundCall:
        """The call's row, inserted once (concurrent claims find the same row)."""
        values = {
            "id": uuid.uuid4(), "store_id": store_id, "key": key, "status": "claimed",
            "created_at": utcnow(),
        }  # fmt: skip
        self.session.execute(insert_ignoring_conflicts(self.session, OutboundCall, values))
        return self.session.scalars(select(OutboundCall).where(OutboundCall.key == key)).one()

    def move(self, key: str, *, to: str, only_from: Collection[str]) -> bool:
        """Set the call's status if it is one of `only_from` now; whether it was (two
        attempts at once: one of them wins)."""
        values: dict[str, object] = {"status": to}
        if to == "done":
            values["done_at"] = utcnow()
        result = self.session.execute(
            update(OutboundCall)
            .where(OutboundCall.key == key, OutboundCall.status.in_(list(only_from)))
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))
