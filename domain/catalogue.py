"""The store's catalogue: the pieces it sells, by SKU, from a CSV, Valigara or a shop.

Every door that learns of a piece calls `upsert_piece`, so a re-sent piece that did not
change changes nothing, and a full catalogue that no longer lists a piece marks it inactive
(kept: old sales still name it) with `deactivate_missing`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from db.models import Lead, Product
from db.repositories import EventRepository, ProductRepository
from db.types import utcnow
from domain.access import Actor
from domain.leads import lead_for

Outcome = Literal["created", "updated", "unchanged"]
# The source of the pieces pulled from Valigara, which must hear when one sells.
VALIGARA = "valigara"


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


# The categories a segment's lead is shopping for (a piece of another category can still be
# picked, after these).
SEGMENT_CATEGORIES: dict[str, set[str]] = {
    "engagement": {"ring", "engagement ring", "solitaire"},
    "bridal": {"necklace", "bangle", "set", "earrings", "mangalsutra", "choker"},
    "anniversary": {"band", "ring", "earrings", "pendant", "bracelet"},
    "birthday": {"earrings", "pendant", "bracelet", "ring"},
    "gifting": {"earrings", "pendant", "bracelet", "chain"},
    "festive": {"coin", "bangle", "chain", "necklace"},
    "custom_design": {"ring", "necklace", "pendant"},
}
# What a lead did that says which pieces they looked at or asked about.
INTEREST_EVENTS = ("product_view", "category_view", "question", "technical_question")


@dataclass(frozen=True)
class Taste:
    """What a lead told us and did that picks read: all lower-cased."""

    segment: str | None = None
    budget_minor: int | None = None
    metals: tuple[str, ...] = ()
    stones: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # styles and interests
    seen_skus: frozenset[str] = frozenset()
    seen_categories: frozenset[str] = frozenset()


def _metal_matches(metal: str | None, wanted: tuple[str, ...]) -> bool:
    """ "gold" fits "yellow gold" and the other way round; no metal stated fits none."""
    if metal is None:
        return False
    return any(want in metal or metal in want for want in wanted)


def choose_picks(pieces: Sequence[Product], taste: Taste, *, limit: int = 3) -> list[Product]:
    """The pieces to show: in stock and active only; within the budget and of a preferred
    metal when the lead gave them; then what they viewed or asked about, their segment's
    categories, their stones and words first, and nearest the budget (else cheapest)."""
    fits = [
        piece
        for piece in pieces
        if piece.active
        and piece.stock > 0
        and (
            taste.budget_minor is None
            or (piece.price_minor is not None and piece.price_minor <= taste.budget_minor)
        )
        and (not taste.metals or _metal_matches((piece.metal or "").lower() or None, taste.metals))
    ]
    wanted_categories = SEGMENT_CATEGORIES.get(taste.segment or "", set())

    def rank(piece: Product) -> tuple[int, int, str]:
        category = (piece.category or "").lower()
        text = f"{piece.title} {category}".lower()
        score = 4 * (piece.sku in taste.seen_skus)
        score += 2 * (category in taste.seen_categories)
        score += 2 * (category in wanted_categories)
        stones = {str(stone.get("type", "")).lower() for stone in piece.stones or []}
        score += sum(1 for stone in taste.stones if stone in stones)
        score += sum(1 for word in taste.words if word and word in text)
        price = piece.price_minor or 0
        closeness = (taste.budget_minor - price) if taste.budget_minor is not None else price
        return (-score, closeness, piece.sku)

    return sorted(fits, key=rank)[:limit]


def taste_of(session: Session, lead: Lead) -> Taste:
    """The lead's stated preferences and what they viewed or asked about."""
    seen_skus: set[str] = set()
    seen_categories: set[str] = set()
    for payload in EventRepository(session).payloads_of_kinds(lead.id, INTEREST_EVENTS):
        if isinstance(payload.get("sku"), str):
            seen_skus.add(payload["sku"])
        if isinstance(payload.get("category"), str):
            seen_categories.add(payload["category"].lower())

    def lowered(values: list[str] | None) -> tuple[str, ...]:
        return tuple(value.lower() for value in values or [])

    return Taste(
        segment=lead.segment,
        budget_minor=lead.budget_minor,
        metals=lowered(lead.metals),
        stones=lowered(lead.stones),
        words=lowered(lead.styles) + lowered(lead.interests),
        seen_skus=frozenset(seen_skus),
        seen_categories=frozenset(seen_categories),
    )


def picks_for(session: Session, lead: Lead, *, limit: int = 3) -> list[Product]:
    """In-stock pieces of the lead's store chosen for the lead (`choose_picks`)."""
    pieces = ProductRepository(session).in_stock(lead.store_id)
    return choose_picks(pieces, taste_of(session, lead), limit=limit)


def picks_for_lead(session: Session, lead_id: uuid.UUID, actor: Actor) -> list[Product]:
    """The picks a member of staff sees on the lead's page (if they may see the lead)."""
    return picks_for(session, lead_for(session, lead_id, actor))
