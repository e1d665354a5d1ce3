"""A long timeline comes in pages (GET /v1/leads/{id}/timeline?limit=&cursor=): every entry
once, in the order of one long read, however many entries share a moment."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from core.vocabulary import ApiRole, TouchStatus
from db.models import Lead, Touch
from db.types import utcnow
from sequences.vocabulary import Channel, Purpose
from tests.conftest import bearer
from tests.factories import add_event, enroll, make_lead


def _touch(database, lead_id: uuid.UUID, step: str, at) -> None:
    def add(session) -> None:
        session.add(
            Touch(
                lead_id=lead_id,
                store_id=session.get_one(Lead, lead_id).store_id,
                step_id=step,
                channel=Channel.EMAIL,
                purpose=Purpose.MARKETING,
                template="engagement/welcome",
                idempotency_key=f"test:{uuid.uuid4()}:{step}",
                status=TouchStatus.SENT,
                provider="outbox",
                created_at=at - timedelta(seconds=1),
                sent_at=at,
            )
        )

    database.run(add)


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [entry.get("event_id") or entry["touch_id"] for entry in entries]


@pytest.fixture
def long_timeline(database, store) -> uuid.UUID:
    """A lead with 9 events and 4 messages; three events and two messages share one moment."""
    lead_id = make_lead(database, store)
    enroll(database, lead_id)
    start = utcnow() - timedelta(days=3)
    same = start + timedelta(hours=5)
    for n in range(6):
        add_event(database, store, lead_id, "product_view", {"n": n}, at=start + timedelta(hours=n))
    for n in range(3):
        add_event(database, store, lead_id, "category_view", {"n": n}, at=same)
    for n in range(2):
        _touch(database, lead_id, f"same_{n}", same)
    for n in range(2):
        _touch(database, lead_id, f"later_{n}", start + timedelta(days=1, hours=n))
    return lead_id


async def test_pages_of_a_timeline_hold_every_entry_once_in_order(
    http: httpx.AsyncClient, long_timeline, store, api_key
):
    key = bearer(api_key(ApiRole.ASSOCIATE, store_id=store.id))
    url = f"/v1/leads/{long_timeline}/timeline"
    whole = (await http.get(url, headers=key)).json()
    assert len(whole["entries"]) == 13 and whole["next_cursor"] is None
    ats = [entry["at"] for entry in whole["entries"]]
    assert ats == sorted(ats)

    paged: list[dict[str, Any]] = []
    pages, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = await http.get(url, headers=key, params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page["entries"]) <= 2
        assert [j["sequence_key"] for j in page["journeys"]] == ["engagement_welcome"]
        paged += page["entries"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 7
    assert _ids(paged) == _ids(whole["entries"])


async def test_a_cursor_or_limit_the_api_did_not_give_is_refused_naming_it(
    http: httpx.AsyncClient, long_timeline, store, api_key
):
    key = bearer(api_key(ApiRole.ASSOCIATE, store_id=store.id))
    url = f"/v1/leads/{long_timeline}/timeline"
    cases: list[tuple[dict[str, str | int], str]] = [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "MjAyNnwxfHg"}, "cursor"),  # base64 of "2026|1|x"
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
    ]
    for params, field in cases:
        answer = await http.get(url, headers=key, params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["query", field]
