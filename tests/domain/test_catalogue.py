"""Inventory-aware picks: only pieces in stock, within the lead's budget and of their metal,
what they viewed first; and the message that shows picks records the SKUs it showed."""

from __future__ import annotations

import uuid

import pytest

from activities.messaging import MessagingActivities
from db.models import Event, Lead
from domain.catalogue import Piece, picks_for, upsert_piece
from providers.registry import configured
from sequences.vocabulary import Channel
from tests.activities.test_messaging import AFTERNOON, lead_in_kolkata, request_for, run_at
from tests.factories import touches
from tests.standin import settings_for


@pytest.fixture
def messaging(database, standin) -> MessagingActivities:
    settings = settings_for(standin)
    return MessagingActivities(database, configured(settings), settings)


def _stock(database, store, *pieces: Piece) -> None:
    database.run(lambda s: [upsert_piece(s, store.id, "csv", piece) for piece in pieces])


def _prefer(database, lead_id: uuid.UUID, **changes) -> None:
    def change(session) -> None:
        lead = session.get_one(Lead, lead_id)
        for name, value in changes.items():
            setattr(lead, name, value)

    database.run(change)


def _piece(sku: str, title: str, category: str, metal: str, rupees: int, stock: int, *stones):
    return Piece(
        sku, title, category, metal, "18K" if metal == "gold" else "PT950",
        price_minor=rupees * 100, currency="INR", stock=stock,
        stones=[{"type": stone} for stone in stones],
    )  # fmt: skip


def _case(tag: str) -> list[Piece]:
    """A small case: the best match on paper is out of stock; others miss on budget or metal."""
    return [
        _piece(f"{tag}-SOLD", "Oval solitaire", "ring", "platinum", 150_000, 0, "diamond"),
        _piece(f"{tag}-HALO", "Halo ring", "ring", "platinum", 140_000, 1, "diamond"),
        _piece(f"{tag}-BAND", "Plain band", "band", "platinum", 40_000, 3),
        _piece(f"{tag}-BIG", "Cushion solitaire", "ring", "platinum", 390_000, 1),
        _piece(f"{tag}-GOLD", "Yellow gold solitaire", "ring", "gold", 120_000, 2),
        _piece(f"{tag}-PEND", "Diamond pendant", "pendant", "platinum", 90_000, 1),
    ]


def test_picks_never_show_an_out_of_stock_piece_and_fit_budget_and_metal(database, store):
    tag = uuid.uuid4().hex[:6]
    _stock(database, store, *_case(tag))
    lead_id = lead_in_kolkata(database, store)
    _prefer(database, lead_id, segment="engagement", budget_minor=200_000_00,
            metals=["platinum"], stones=["diamond"])  # fmt: skip

    picks = database.read(lambda s: picks_for(s, s.get_one(Lead, lead_id)))

    skus = [piece.sku for piece in picks]
    assert f"{tag}-SOLD" not in skus  # out of stock, though it fits best
    assert f"{tag}-BIG" not in skus and f"{tag}-GOLD" not in skus  # over budget; not platinum
    assert skus == [f"{tag}-HALO", f"{tag}-PEND", f"{tag}-BAND"]  # a ring with a diamond first
    assert all(p.stock > 0 and p.price_minor <= 200_000_00 for p in picks)
    assert all(p.metal == "platinum" for p in picks)


def test_a_piece_the_lead_viewed_comes_first(database, store):
    tag = uuid.uuid4().hex[:6]
    _stock(database, store, *_case(tag))
    lead_id = lead_in_kolkata(database, store)
    _prefer(database, lead_id, segment="engagement", budget_minor=200_000_00, metals=["platinum"])

    def viewed(session) -> None:
        session.add(Event(store_id=store.id, lead_id=lead_id, kind="product_view",
                          idempotency_key=f"view-{tag}", source="web",
                          payload={"sku": f"{tag}-BAND"}, occurred_at=AFTERNOON))  # fmt: skip

    database.run(viewed)
    picks = database.read(lambda s: picks_for(s, s.get_one(Lead, lead_id)))
    assert picks[0].sku == f"{tag}-BAND"


def test_the_picks_message_shows_in_stock_pieces_and_records_their_skus(database, store, messaging):
    tag = uuid.uuid4().hex[:6]
    _stock(database, store, *_case(tag))
    lead_id = lead_in_kolkata(database, store, preferred=Channel.EMAIL)
    _prefer(database, lead_id, segment="engagement", budget_minor=200_000_00,
            metals=["platinum"], stones=["diamond"])  # fmt: skip

    request = request_for(lead_id, template="engagement/picks_from_stock", step_id="picks")
    result = run_at(messaging, request, AFTERNOON)

    assert result.status == "sent", result
    [touch] = touches(database, lead_id)
    assert touch.shown_skus == [f"{tag}-HALO", f"{tag}-PEND", f"{tag}-BAND"]
    body = touch.body or ""
    assert "Halo ring" in body and "INR 140,000" in body
    assert "Oval solitaire" not in body  # out of stock
