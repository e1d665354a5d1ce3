"""Retries that change nothing: `Idempotency-Key` on creating POSTs, and the same person's
identical enquiry within a window recorded (and scored) once.

The concurrent tests go over real HTTP (uvicorn on a port of the test's own) to the app, with
Facet's worker running on Temporal's dev server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from api.app import create_app
from core.vocabulary import ApiRole
from db.models import Enrollment, Event, IdempotentRequest, Lead, Touch
from domain.events import enquiry_keys, new_event, record_enquiry_once
from sequences.vocabulary import EventKind
from tests import conftest
from tests.api.conftest import settled_touches
from tests.conftest import bearer
from tests.factories import afternoon_zone, indian_mobile

COPIES = 20


def _body(store_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store_id": str(store_id),
        "source": "web_form",
        "first_name": "Asha",
        "phone": indian_mobile(),
        "email": f"asha.{uuid.uuid4().hex[:8]}@example.com",
        "segment": "engagement",
        "preferred_channel": "email",
        "message": "Looking for a solitaire around 1 carat",
        "consent": {"email": True, "evidence": "web form v3"},
        "timezone": afternoon_zone(),
    }
    body.update(overrides)
    return body


def _count(database, model, *conditions) -> int:
    return database.read(
        lambda s: s.scalar(select(func.count()).select_from(model).where(*conditions))
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def served(dev_server, database, worker_for) -> AsyncIterator[httpx.AsyncClient]:
    """The app served by uvicorn on a port of its own, a worker beside it; an HTTP client.

    The app is given its database and Temporal client, so its lifespan (which would make
    them, and set up logging for the whole process) stays off.
    """
    async with worker_for(dev_server.client) as task_queue:
        app = create_app(
            conftest.test_settings(database.url, task_queue),
            database=database,
            temporal=dev_server.client,
        )
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                yield client
        finally:
            server.should_exit = True
            await serving


@pytest.mark.parametrize("with_key", [True, False], ids=["idempotency-key", "no-key"])
async def test_the_same_capture_posted_20_times_at_once_is_one_lead_journey_welcome_and_enquiry(
    served, store, make_store, api_key, database, with_key
):
    pos, admin = api_key(ApiRole.POS), api_key(ApiRole.ADMIN)
    body = _body(store.id)
    headers = {**bearer(pos), **({"Idempotency-Key": str(uuid.uuid4())} if with_key else {})}

    answers = await asyncio.gather(
        *[served.post("/v1/leads", json=body, headers=headers) for _ in range(COPIES)]
    )

    statuses = sorted(answer.status_code for answer in answers)
    if with_key:
        assert statuses == [201] * COPIES, "every retry gets the first answer, 201 included"
        assert len({answer.content for answer in answers}) == 1
        replayed = [a for a in answers if a.headers.get("Idempotent-Replayed") == "true"]
        assert len(replayed) == COPIES - 1
    else:
        assert statuses == [200] * (COPIES - 1) + [201]
    [lead_id] = {answer.json()["lead_id"] for answer in answers}
    lead_uuid = uuid.UUID(lead_id)
    assert _count(database, Lead, Lead.store_id == store.id) == 1
    assert _count(database, Enrollment, Enrollment.lead_id == lead_uuid) == 1
    touches = await settled_touches(served, admin, lead_id)
    assert [(t["step_id"], t["status"]) for t in touches] == [("welcome", "outbox")]
    assert _count(database, Touch, Touch.lead_id == lead_uuid) == 1
    kinds = database.read(
        lambda s: s.scalars(select(Event.kind).where(Event.lead_id == lead_uuid)).all()
    )
    assert kinds == ["captured"], f"one enquiry, not {len(kinds)}"

    # The score is that of one enquiry: the same person posted once to another store.
    other = make_store()
    once = (
        await served.post(
            "/v1/leads", json={**body, "store_id": str(other.id)}, headers=bearer(pos)
        )
    ).json()
    retried = (await served.get(f"/v1/leads/{lead_id}", headers=bearer(admin))).json()
    single = (await served.get(f"/v1/leads/{once['lead_id']}", headers=bearer(admin))).json()
    parts = ("value", "priority", "positive", "negative", "triggers")
    assert {p: retried["score_detail"][p] for p in parts} == {
        p: single["score_detail"][p] for p in parts
    }


async def test_a_known_leads_new_enquiry_posted_20_times_at_once_is_one_enquiry(
    served, store, api_key, database
):
    pos, admin = api_key(ApiRole.POS), api_key(ApiRole.ADMIN)
    body = _body(store.id)
    first = (await served.post("/v1/leads", json=body, headers=bearer(pos))).json()
    asked = {**body, "message": "Could I see it in platinum on Saturday?"}

    answers = await asyncio.gather(
        *[served.post("/v1/leads", json=asked, headers=bearer(pos)) for _ in range(COPIES)]
    )

    assert {answer.status_code for answer in answers} == {200}
    lead_id = uuid.UUID(first["lead_id"])
    kinds = database.read(
        lambda s: s.scalars(
            select(Event.kind).where(Event.lead_id == lead_id).order_by(Event.occurred_at)
        ).all()
    )
    assert kinds == ["captured", "enquiry"]
    factors = (await served.get(f"/v1/leads/{lead_id}", headers=bearer(admin))).json()
    labels = [f["label"] for f in factors["score_detail"]["positive"]]
    assert "1× enquiry" in labels


async def test_a_key_reused_with_another_body_is_a_409_and_changes_nothing(
    served, store, api_key, database
):
    pos = api_key(ApiRole.POS)
    headers = {**bearer(pos), "Idempotency-Key": f"form-{uuid.uuid4()}"}
    first = await served.post("/v1/leads", json=_body(store.id), headers=headers)
    assert first.status_code == 201, first.text

    again = await served.post("/v1/leads", json=_body(store.id), headers=headers)

    assert again.status_code == 409
    assert "Idempotency-Key" in again.json()["detail"]
    assert "different request" in again.json()["detail"]
    assert _count(database, Lead, Lead.store_id == store.id) == 1


async def test_the_same_body_in_another_key_order_is_the_same_request(served, store, api_key):
    pos = api_key(ApiRole.POS)
    body = _body(store.id)
    headers = {**bearer(pos), "Idempotency-Key": str(uuid.uuid4())}
    first = await served.post("/v1/leads", json=body, headers=headers)
    shuffled = dict(reversed(list(body.items())))
    again = await served.post("/v1/leads", json=shuffled, headers=headers)

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_keys_belong_to_the_api_key_that_sent_them(served, store, api_key, database):
    one, two = api_key(ApiRole.POS), api_key(ApiRole.POS)
    shared = str(uuid.uuid4())
    first = await served.post(
        "/v1/leads", json=_body(store.id), headers={**bearer(one), "Idempotency-Key": shared}
    )
    second = await served.post(
        "/v1/leads", json=_body(store.id), headers={**bearer(two), "Idempotency-Key": shared}
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["lead_id"] != second.json()["lead_id"]


async def test_a_refused_request_keeps_no_key_and_a_corrected_one_may_use_it(
    served, store, api_key, database
):
    pos = api_key(ApiRole.POS)
    headers = {**bearer(pos), "Idempotency-Key": str(uuid.uuid4())}
    refused = await served.post("/v1/leads", json=_body(store.id, phone="12345"), headers=headers)
    assert refused.status_code == 422

    corrected = await served.post("/v1/leads", json=_body(store.id), headers=headers)

    assert corrected.status_code == 201, corrected.text
    assert _count(database, Lead, Lead.store_id == store.id) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve-key", "two words"])
async def test_a_malformed_key_is_a_422_naming_the_header(served, store, api_key, database, key):
    headers = {**bearer(api_key(ApiRole.POS)), "Idempotency-Key": key.encode()}
    answer = await served.post("/v1/leads", json=_body(store.id), headers=headers)

    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["header", "Idempotency-Key"]
    assert _count(database, Lead, Lead.store_id == store.id) == 0


async def test_a_purchase_retried_with_its_key_answers_as_the_first_time(
    served, store, api_key, database
):
    pos = api_key(ApiRole.POS)
    sale = {
        "store_id": str(store.id),
        "pos_transaction_id": f"till-1:{uuid.uuid4().hex[:8]}",
        "customer": {"phone": indian_mobile(), "first_name": "Ravi"},
        "amount_minor": 1_850_000,
        "items": [{"sku": "R-1", "name": "Ring"}],
    }
    headers = {**bearer(pos), "Idempotency-Key": str(uuid.uuid4())}
    first = await served.post("/v1/pos/purchases", json=sale, headers=headers)
    again = await served.post("/v1/pos/purchases", json=sale, headers=headers)

    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    other = await served.post(
        "/v1/pos/purchases", json={**sale, "amount_minor": 999}, headers=headers
    )
    assert other.status_code == 409


async def test_the_same_enquiry_again_is_one_event_and_another_is_a_second(
    served, store, api_key, database
):
    pos, admin = api_key(ApiRole.POS), api_key(ApiRole.ADMIN)
    body = _body(store.id)
    first = (await served.post("/v1/leads", json=body, headers=bearer(pos))).json()
    lead_id = uuid.UUID(first["lead_id"])
    score = (await served.get(f"/v1/leads/{lead_id}", headers=bearer(admin))).json()["score"]
    spaced = {**body, "message": "  looking for a SOLITAIRE   around 1 carat "}
    again = await served.post("/v1/leads", json=spaced, headers=bearer(pos))

    assert again.status_code == 200
    assert _count(database, Event, Event.lead_id == lead_id) == 1, "a retry is not new interest"
    lead = (await served.get(f"/v1/leads/{lead_id}", headers=bearer(admin))).json()
    assert lead["score"] == score

    other = {**body, "message": "Do you also make wedding bands to match?"}
    assert (await served.post("/v1/leads", json=other, headers=bearer(pos))).status_code == 200
    kinds = database.read(
        lambda s: s.scalars(
            select(Event.kind).where(Event.lead_id == lead_id).order_by(Event.occurred_at)
        ).all()
    )
    assert kinds == ["captured", "enquiry"], "a different question is new interest"


def test_an_enquiry_repeated_across_a_bucket_boundary_is_still_one(database, store):
    """The window is exact: a repeat just after the bucket turns finds the one just before."""
    window = timedelta(minutes=30)
    lead_id = uuid.uuid4()
    edge = datetime.fromtimestamp(
        (datetime.now(UTC).timestamp() // window.total_seconds()) * window.total_seconds(), UTC
    )

    def enquiry(session, at: datetime):
        database_lead = Lead(
            id=lead_id, store_id=store.id, source="web_form", phone_e164=indian_mobile()
        )
        if session.get(Lead, lead_id) is None:
            session.add(database_lead)
            session.flush()
        key, earlier = enquiry_keys(
            lead_id, source="web_form", segment=None, message="Hi", at=at, window=window
        )
        event = new_event(
            store_id=store.id,
            lead_id=lead_id,
            key=key,
            kind=EventKind.ENQUIRY,
            source="web_form",
            payload={},
            occurred_at=at,
        )
        return record_enquiry_once(session, event, earlier_key=earlier, window=window).new

    assert database.run(lambda s: enquiry(s, edge - timedelta(seconds=1))) is True
    assert database.run(lambda s: enquiry(s, edge + timedelta(seconds=1))) is False
    assert database.run(lambda s: enquiry(s, edge + window - timedelta(seconds=1))) is True
    assert _count(database, Event, Event.lead_id == lead_id) == 2


def test_expired_keys_are_forgotten(database):
    """Kept 24 hours: a claim older than that is deleted when keys are next claimed."""
    from api.idempotency import KEPT
    from db.repositories import IdempotentRequestRepository

    scope = uuid.uuid4().hex
    now = datetime.now(UTC)

    def claim(session, at: datetime):
        return IdempotentRequestRepository(session).claim(
            scope, "k", "f", now=at, kept_since=at - KEPT
        )

    assert database.run(lambda s: claim(s, now - KEPT - timedelta(minutes=1))) is not None
    assert database.run(lambda s: claim(s, now)) is not None, "the old claim was forgotten"
    assert _count(database, IdempotentRequest, IdempotentRequest.scope == scope) == 1
