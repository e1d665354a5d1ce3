"""What Facet does with Valigara: pull its catalogue into Facet's, and tell it a piece sold.

- `pull_catalogue`: `product_search` lists the product ids (it returns ids only), then each
  product's details; each becomes a catalogue piece from source "valigara" (upsert by SKU).
  A full pull marks Valigara pieces it no longer lists inactive. Field names follow the
  public third-party client (integrations.md §1, [2nd]); the product-details action is not
  in Valigara's stored docs, so its name is a setting (VALIGARA_DETAILS_ACTION, default
  `DETAILS_ACTION`).
- `mark_sold`: `product_sold` for one sale line (quantity sold, not left; the store's
  `sold_action`: remove | revise | no_action), at most once. The line's `outbound_call` row
  is claimed, set `calling` (committed) just before the request goes out and `done` once
  Valigara answered 100, so a retry of a done line calls nothing. A retry that finds it
  `calling` follows an attempt that sent the request and was never heard from (a worker
  killed, an answer lost): sending it again could take a second piece off Valigara's stock,
  so it is not sent; the row says `unknown`, for a person to look in Valigara. An answer
  that refused the call, or a connection that never opened, sent nothing: the row goes back
  to `claimed` and the retry calls.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from connectors.valigara.client import ValigaraClient, ValigaraRefused
from db.repositories import OutboundCallRepository
from db.session import Database
from domain import catalogue
from domain.catalogue import Piece

SOURCE = catalogue.VALIGARA
DETAILS_ACTION = "product_get"
SoldAction = Literal["remove", "revise", "no_action"]
Told = Literal["told", "already_told", "outcome_unknown"]
# Errors raised before a byte of the request left: nothing reached Valigara.
NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Pulled:
    listed: int
    created: int
    updated: int
    unchanged: int
    deactivated: int


def _ids(found: Any) -> list[int]:
    """`product_search`'s answer: ids, or records with a `product_id`."""
    rows = found if isinstance(found, list) else []
    return [int(row["product_id"]) if isinstance(row, dict) else int(row) for row in rows]


def piece_of(product: dict[str, Any], store_currency: str) -> Piece:
    """A Valigara product as a catalogue piece (price in major units, as Valigara sends it)."""
    metals = product.get("metals") or [{}]
    metal = metals[0] if isinstance(metals[0], dict) else {}
    images = product.get("images") or []
    price = product.get("price")
    return Piece(
        sku=str(product.get("sku") or product.get("catalog_code") or product["product_id"]),
        title=str(product.get("title") or "Untitled piece"),
        category=(str(product.get("product_type") or product.get("type") or "").lower() or None),
        metal=(str(metal.get("name") or "").lower() or None),
        purity=(str(metal.get("purity")) if metal.get("purity") else None),
        weight_g=float(metal["weight"]) if metal.get("weight") is not None else None,
        stones=[_stone(stone) for stone in product.get("gemstones") or []],
        price_minor=round(float(price) * 100) if price is not None else None,
        currency=str(product.get("currency") or store_currency) if price is not None else None,
        stock=0 if product.get("not_for_sale") else int(product.get("quantity") or 0),
        image_url=str(images[0]) if images else None,
        external_product_id=str(product["product_id"]),
    )


def _stone(stone: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"type": str(stone.get("name") or stone.get("type") or "").lower()}
    if stone.get("carat") is not None:
        found["carat"] = float(stone["carat"])
    return found


def pull_catalogue(
    database: Database,
    client: ValigaraClient,
    store_id: uuid.UUID,
    store_currency: str,
    *,
    full: bool = True,
    details_action: str = DETAILS_ACTION,
) -> Pulled:
    """Bring Facet's catalogue up to Valigara's (raises the client's errors; a 102 stops it
    before anything is written)."""
    ids = _ids(client.call("product_search", {}))
    pieces = [piece_of(client.call(details_action, {"product_id": i}), store_currency) for i in ids]

    def write(session: Any) -> Pulled:
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for piece in pieces:
            counts[catalogue.upsert_piece(session, store_id, SOURCE, piece)] += 1
        gone = (
            catalogue.deactivate_missing(session, store_id, SOURCE, [p.sku for p in pieces])
            if full
            else 0
        )
        return Pulled(len(pieces), deactivated=gone, **counts)

    return database.run(write)


def mark_sold(
    database: Database,
    client: ValigaraClient,
    *,
    store_id: uuid.UUID,
    sale_line_key: str,
    product_id: str,
    quantity: int,
    sold_action: SoldAction,
) -> Told:
    """Tell Valigara this line sold, at most once (see the module's docstring)."""
    key = f"valigara:product_sold:{sale_line_key}"
    row = database.run(lambda s: OutboundCallRepository(s).claim(store_id, key))
    if row.status == "done":
        return "already_told"
    if not database.run(lambda s: _move(s, key, "calling", "claimed")):
        database.run(lambda s: _move(s, key, "unknown", "calling"))
        return "outcome_unknown"
    try:
        # A 105 is not waited out here: the activity hands the wait to Temporal, so an
        # attempt lasts one request and a worker that dies is noticed soon.
        client.call(
            "product_sold",
            {"product_id": product_id, "quantity": quantity, "sold_action": sold_action},
            waits=0,
        )
    except (ValigaraRefused, *NOTHING_SENT):
        database.run(lambda s: _move(s, key, "claimed", "calling"))
        raise
    # Late or not, an answer is the truth: an attempt that outlived its retry still says so.
    database.run(lambda s: _move(s, key, "done", "calling", "unknown"))
    return "told"


def _move(session: Any, key: str, to: str, *only_from: str) -> bool:
    return OutboundCallRepository(session).move(key, to=to, only_from=only_from)
