"""Which sales Valigara must hear of: a sale recorded through any door (its items as the
till, the store-system contract, Shopify and the CSV import write them) names the lines whose
SKU the catalogue has from Valigara, with Valigara's product id and the quantity sold; a
piece from another source, an unknown SKU and a sale from the store's past name none."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from core.vocabulary import ApiRole
from db.types import utcnow
from domain.access import Actor
from domain.catalogue import VALIGARA, Piece, upsert_piece
from domain.effects import PiecesSold, SoldPiece
from domain.imports import import_sales
from domain.leads import Details, Identity
from domain.purchases import Sale, record_sale
from domain.reference import Reference


def _catalogue(database, store, tag: str) -> None:
    def stock(session) -> None:
        upsert_piece(session, store.id, VALIGARA, Piece(f"{tag}-RING", "Solitaire",
                     stock=2, external_product_id="101"))  # fmt: skip
        upsert_piece(session, store.id, VALIGARA, Piece(f"{tag}-STUD", "Studs",
                     stock=5, external_product_id="102"))  # fmt: skip
        upsert_piece(session, store.id, "csv", Piece(f"{tag}-BOX", "Gift box", stock=50))

    database.run(stock)


def _sale(store, items: list[dict[str, Any]], **changes: Any) -> Sale:
    fields: dict[str, Any] = {
        "store_id": store.id,
        "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
        "buyer": Identity(pos_customer_id=f"C-{uuid.uuid4().hex[:8]}"),
        "buyer_details": Details(first_name="Meena"),
        "amount_minor": 230_000_00,
        "currency": None,
        "items": items,
        "associate_id": None,
        "purchased_at": None,
        "occasion": None,
        **changes,
    }
    return Sale(**fields)


def _till(store) -> Actor:
    return Actor(uuid.uuid4(), "till", ApiRole.POS, store.id, None)


# Each door's items, as it writes them (api/pos, connectors/contract, shopify, csv_import).
DOORS: dict[str, Callable[[str], list[dict[str, Any]]]] = {
    "till": lambda t: [
        {"name": "Solitaire", "sku": f"{t}-RING"},
        {"name": "Gift box", "sku": f"{t}-BOX"},
    ],
    "contract": lambda t: [
        {"line_no": 3, "sku": f"{t}-STUD", "qty": 2, "name": "Studs"},
        {"line_no": 4, "sku": f"{t}-RING", "qty": 1, "name": "Solitaire"},
    ],
    "shopify": lambda t: [
        {"name": "Studs", "qty": 2, "sku": f"{t}-STUD"},
        {"name": "Engraving", "qty": 1},
    ],
    "csv": lambda t: [
        {"line_no": 1, "sku": f"{t}-UNKNOWN", "name": "?", "qty": 1},
        {"line_no": 2, "sku": f"{t}-RING", "name": "Solitaire", "qty": 1},
    ],
}
TOLD = {
    "till": [SoldPiece(1, "101", 1)],
    "contract": [SoldPiece(3, "102", 2), SoldPiece(4, "101", 1)],
    "shopify": [SoldPiece(1, "102", 2)],
    "csv": [SoldPiece(2, "101", 1)],
}


@pytest.mark.parametrize("door", list(DOORS))
def test_a_sale_names_its_valigara_lines_for_every_door(database, store, door):
    tag = uuid.uuid4().hex[:6]
    _catalogue(database, store, tag)
    sale = _sale(store, DOORS[door](tag))
    recorded = database.run(lambda s: record_sale(s, Reference(), _till(store), sale))
    assert recorded.effects.valigara_sold == [
        PiecesSold(store.id, recorded.purchase_id, TOLD[door])
    ]
    # The till sends it again: the same sale, the same lines (Temporal starts nothing twice).
    again = database.run(lambda s: record_sale(s, Reference(), _till(store), sale))
    assert again.duplicate and again.effects.valigara_sold == recorded.effects.valigara_sold


def test_a_sale_without_valigara_pieces_or_from_the_past_tells_valigara_nothing(database, store):
    tag = uuid.uuid4().hex[:6]
    _catalogue(database, store, tag)
    box = _sale(store, [{"name": "Gift box", "sku": f"{tag}-BOX"}, {"name": "Polish"}])
    plain = database.run(lambda s: record_sale(s, Reference(), _till(store), box))
    assert plain.effects.valigara_sold == []

    # An import of last year's sales: Valigara's stock counted them long ago.
    old = _sale(store, [{"name": "Solitaire", "sku": f"{tag}-RING"}],
                purchased_at=utcnow() - timedelta(days=365))  # fmt: skip
    [(outcome, effects)] = database.run(
        lambda s: import_sales(s, Reference(), _till(store), [old], now=utcnow())
    )
    assert outcome == "created" and effects.valigara_sold == []
    # Last week's sale in the same import is told.
    recent = _sale(store, [{"name": "Solitaire", "sku": f"{tag}-RING", "qty": 1}],
                   purchased_at=utcnow() - timedelta(days=7))  # fmt: skip
    [(outcome, effects)] = database.run(
        lambda s: import_sales(s, Reference(), _till(store), [recent], now=utcnow())
    )
    assert outcome == "created"
    assert [sold.lines for sold in effects.valigara_sold] == [[SoldPiece(1, "101", 1)]]
