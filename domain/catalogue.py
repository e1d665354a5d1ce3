"""The store's catalogue: the pieces it sells, by SKU, from a CSV, Valigara or a shop.

Every door that learns of a piece calls `upsert_piece`, so a re-sent piece that did not
change changes nothing, and a full catalogue that no longer lists a piece marks it inactive
(kept: old sales still name it) with `deactivate_missing`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from db.models import Product
from db.repositories import ProductRepository
from db.types import utcnow

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Piece:
    """A piece as a store system describes it; money in minor units."""

    sku: str
    title: str
    category: str | None = None
    metal: str | None = None
    purity: str | None = None
    weight_g: float | None = None
    stones: list[dict[str, Any]] = field(default_factory=list)
    price_minor: int | None = None
    currency: str | None = None
    stock: int = 0
    image_url: str | None = None
    external_product_id: str | None = None


_FIELDS = [name for name in Piece.__dataclass_fields__ if name != "sku"]


def upsert_piece(session: Session, store_id: uuid.UUID, source: str, piece: Piece) -> Outcome:
    """Create the piece, or bring the stored one up to date (active again if it was not)."""
    products = ProductRepository(session)
    stored = products.by_sku(store_id, piece.sku)
    values = asdict(piece)
    if stored is None:
        products.add(
            Product(
                id=uuid.uuid4(),
                store_id=store_id,
                source=source,
                active=True,
                updated_at=utcnow(),
                **values,
            ),
            flush=False,
        )
        return "created"
    changed = not stored.active or stored.source != source
    for name in _FIELDS:
        if getattr(stored, name) != values[name]:
            setattr(stored, name, values[name])
            changed = True
    stored.active = True
    stored.source = source
    return "updated" if changed else "unchanged"


def deactivate_missing(
    session: Session, store_id: uuid.UUID, source: str, listed: Collection[str]
) -> int:
    """A full catalogue from `source` no longer lists these of its pieces: inactive now."""
    products = ProductRepository(session)
    missing = products.active_skus(store_id, source) - set(listed)
    return products.deactivate(store_id, missing) if missing else 0
