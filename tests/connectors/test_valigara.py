"""Valigara against a local stand-in (documented semantics; field names secondary): the
catalogue pulled, `product_sold` once per sale line however often it is retried, a 105
waited out, a 102 a clear stop."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.valigara import ValigaraActivities
from activities.valigara_payloads import CataloguePull, SoldLine
from connectors.valigara.client import RateLimited, ValigaraClient, ValigaraRefused
from connectors.valigara.sync import mark_sold, pull_catalogue
from db.models import OutboundCall, Product
from tests.valigara_standin import ValigaraStandIn

RING = {
    "product_id": 101, "sku": "VR-101", "title": "Oval solitaire", "product_type": "Ring",
    "price": 185000, "quantity": 2, "metals": [{"name": "Platinum", "purity": "PT950",
    "weight": 4.2}], "gemstones": [{"name": "Diamond", "carat": 1.01}],
    "images": ["https://img.example/vr-101.jpg"],
}  # fmt: skip
STUDS = {
    "product_id": 102, "sku": "VE-102", "title": "Diamond studs", "product_type": "Earrings",
    "price": 45000, "quantity": 5, "metals": [{"name": "Gold", "purity": "18K"}],
}  # fmt: skip
SHOWPIECE = {
    "product_id": 103, "sku": "VN-103", "title": "Bridal necklace", "product_type": "Necklace",
    "price": 950000, "quantity": 1, "not_for_sale": True,
}  # fmt: skip


@contextmanager
def _standin(**options) -> Iterator[ValigaraStandIn]:
    server = ValigaraStandIn(**options).start()
    for product in (RING, STUDS, SHOWPIECE):
        server.add(dict(product))
    yield server
    server.stop()


@pytest.fixture
def valigara() -> Iterator[ValigaraStandIn]:
    with _standin() as server:
        yield server


def _client(server: ValigaraStandIn, **options) -> ValigaraClient:
    return ValigaraClient(server.url, server.key, **options)


def _catalogue(database, store) -> dict[str, tuple]:
    return database.read(
        lambda s: {
            p.sku: (p.title, p.metal, p.purity, p.price_minor, p.stock, p.active, p.stones)
            for p in s.scalars(select(Product).where(Product.store_id == store.id))
        }
    )


def test_the_catalogue_is_pulled_and_a_delisted_piece_goes_inactive(database, store, valigara):
    client = _client(valigara)
    first = pull_catalogue(database, client, store.id, store.currency)
    assert (first.listed, first.created) == (3, 3)
    catalogue = _catalogue(database, store)
    assert catalogue["VR-101"] == (
        "Oval solitaire", "platinum", "PT950", 185_000_00, 2, True,
        [{"type": "diamond", "carat": 1.01}],
    )  # fmt: skip
    assert catalogue["VN-103"][4] == 0  # not for sale: never picked as in stock
    assert len(valigara.answered("product_get")) == 3  # the search gave ids only

    again = pull_catalogue(database, client, store.id, store.currency)
    assert (again.unchanged, again.created, again.updated) == (3, 0, 0)

    valigara.products[102]["listed"] = False
    pulled = pull_catalogue(database, client, store.id, store.currency)
    assert pulled.deactivated == 1
    assert _catalogue(database, store)["VE-102"][5] is False


def test_a_sale_calls_product_sold_once_even_when_the_call_is_retried(database, store):
    with _standin(limited={"product_sold"}, capacity=1, drain_per_s=0.01) as server:
        server.bucket.fill()  # the first attempt meets a 105
        impatient = _client(server, waits=0)
        line = f"{uuid.uuid4()}:1"

        def attempt(client: ValigaraClient) -> str:
            return mark_sold(
                database, client, store_id=store.id, sale_line_key=line, product_id="101",
                quantity=1, sold_action="remove",
            )  # fmt: skip

        with pytest.raises(RateLimited) as limited:
            attempt(impatient)  # the activity's first attempt; Temporal retries it
        assert limited.value.wait_seconds > 0
        server.bucket.empty()  # the wait Valigara advised has passed
        assert attempt(_client(server)) == "told"  # the retry
        assert attempt(_client(server)) == "already_told"  # a retry after it had answered
        assert len(server.answered("product_sold")) == 1
        assert server.products[101]["quantity"] == 1 and server.products[101]["listed"] is False
        row = database.read(
            lambda s: s.scalars(select(OutboundCall).where(OutboundCall.key.endswith(line))).one()
        )
        assert row.status == "done"


def test_a_connection_that_never_opened_is_called_again_and_a_lost_answer_is_not(
    database, store, valigara
):
    """Nothing left Facet when the connection was refused: the retry calls. An attempt that
    sent the call and heard nothing leaves the row `calling`: the retry calls nothing."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    nowhere = ValigaraClient(f"http://127.0.0.1:{port}/client/V1/", valigara.key)  # no server

    def attempt(client: ValigaraClient, line: str) -> str:
        return mark_sold(
            database, client, store_id=store.id, sale_line_key=line, product_id="102",
            quantity=1, sold_action="no_action",
        )  # fmt: skip

    refused = f"{uuid.uuid4()}:1"
    with pytest.raises(httpx.ConnectError):
        attempt(nowhere, refused)
    assert attempt(_client(valigara), refused) == "told"

    lost = f"{uuid.uuid4()}:1"
    valigara.hold_next("product_sold")
    deaf = ValigaraClient(valigara.url, valigara.key, http=httpx.Client(timeout=0.2))
    with pytest.raises(httpx.ReadTimeout):
        attempt(deaf, lost)
    valigara.release.set()
    assert attempt(_client(valigara), lost) == "outcome_unknown"
    assert attempt(_client(valigara), lost) == "outcome_unknown"
    assert len(valigara.answered("product_sold")) == 2  # one per line
    assert valigara.products[102]["quantity"] == 3


def test_a_105_is_retried_after_the_wait_it_was_given():
    with _standin(limited={"product_search"}, capacity=1, drain_per_s=5.0) as server:
        client = _client(server)
        client.call("product_search", {})
        found = client.call("product_search", {})  # the bucket is full: 105, wait, again
        assert found == [{"product_id": 101}, {"product_id": 102}, {"product_id": 103}]
        statuses = [c.status for c in server.calls]
        assert statuses == [100, 105, 100]
        refused, retried = server.calls[1], server.calls[2]
        assert refused.wait is not None and 0 < refused.wait <= 0.2  # one unit drains in 0.2 s
        assert retried.at - refused.at >= refused.wait  # the client waited as it was told


def test_a_102_stops_with_a_clear_error_and_changes_nothing(database, store, valigara):
    client = ValigaraClient(valigara.url, "a-revoked-key")
    with pytest.raises(ValigaraRefused) as refused:
        pull_catalogue(database, client, store.id, store.currency)
    assert refused.value.code == 102 and refused.value.permanent
    assert "102 Authentication Failed" in str(refused.value)
    assert "My Account → API" in str(refused.value)
    assert refused.value.debug_uid  # for Valigara's support
    assert len(valigara.calls) == 1  # not retried
    assert _catalogue(database, store) == {}


def test_the_sold_activity_is_retried_after_a_105_and_calls_valigara_once(database, store):
    with _standin(limited={"product_sold"}, capacity=1, drain_per_s=0.01) as server:
        server.bucket.fill()
        clients = iter([_client(server, waits=0), _client(server), _client(server)])
        activities = ValigaraActivities(database, lambda: next(clients))
        line = SoldLine(store_id=store.id, sale_line_key=f"{uuid.uuid4()}:1", product_id="101",
                        quantity=1, sold_action="revise")  # fmt: skip
        env = ActivityEnvironment()
        with pytest.raises(ApplicationError) as limited:
            env.run(activities.mark_sold, line)
        assert limited.value.type == "ValigaraRateLimited" and not limited.value.non_retryable
        assert limited.value.next_retry_delay is not None
        server.bucket.empty()  # Temporal retries after the wait Valigara advised
        assert env.run(activities.mark_sold, line).outcome == "told"
        assert env.run(activities.mark_sold, line).outcome == "already_told"  # after it answered
        assert len(server.answered("product_sold")) == 1
        assert server.products[101]["quantity"] == 1 and server.products[101]["listed"] is True


def test_a_revoked_key_fails_the_pull_activity_for_good(database, store, valigara):
    activities = ValigaraActivities(database, lambda: ValigaraClient(valigara.url, "revoked"))
    pull = CataloguePull(store_id=store.id, store_currency="INR")
    with pytest.raises(ApplicationError) as refused:
        ActivityEnvironment().run(activities.pull_catalogue, pull)
    assert refused.value.non_retryable and refused.value.type == "StoreSystemRefused"
    assert "102 Authentication Failed" in str(refused.value)
