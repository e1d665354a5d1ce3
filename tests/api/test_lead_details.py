"""What the lead told us (budget, occasion dates, what they like) is kept, shown and counted."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.vocabulary import ApiRole
from db.models import Lead
from tests.conftest import bearer
from tests.factories import afternoon_zone, indian_mobile


def _bride(store_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store_id": str(store_id),
        "source": "instagram",
        "first_name": "Divya",
        "phone": indian_mobile(),
        "email": f"divya.{uuid.uuid4().hex[:8]}@example.com",
        "message": "Looking at sets for my big day",
        "consent": {"email": True, "evidence": "Instagram lead form v2"},
        "timezone": afternoon_zone(),
    }
    body.update(overrides)
    return body


def _leads_in(database, store_id) -> int:
    return database.read(
        lambda s: s.scalar(select(func.count()).select_from(Lead).where(Lead.store_id == store_id))
    )


async def test_a_bridal_capture_shows_what_she_told_us_and_the_score_says_why(http, store, api_key):
    pos, staff = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    wedding = date.today() + timedelta(days=90)
    body = _bride(
        store.id,
        budget={"amount_minor": 30_000_000, "currency": "INR"},
        occasions={"wedding": wedding.isoformat()},
        metals=["yellow_gold"],
        stones=["polki", "diamond"],
        styles=["temple"],
        interests=["choker necklaces", "jhumkas"],
    )
    captured = await http.post("/v1/leads", json=body, headers=bearer(pos))
    assert captured.status_code == 201, captured.text

    lead = (await http.get(f"/v1/leads/{captured.json()['lead_id']}", headers=bearer(staff))).json()

    assert lead["budget"] == {"amount_minor": 30_000_000, "currency": "INR", "band": None}
    assert lead["occasions"] == {"wedding": wedding.isoformat()}
    assert (lead["metals"], lead["stones"], lead["styles"]) == (
        ["yellow_gold"],
        ["polki", "diamond"],
        ["temple"],
    )
    assert lead["interests"] == ["choker necklaces", "jhumkas"]
    assert lead["segment"] == "bridal", "a wedding date says bridal"
    assert "wedding date" in lead["segment_reason"]
    detail = lead["score_detail"]
    assert detail["priority"] == "hot", "a wedding within six months is hot"
    labels = [factor["label"] for factor in detail["positive"]]
    assert f"wedding on {wedding.isoformat()}, in 90 days" in labels
    assert "budget INR 300,000.00 (high)" in labels
    for _ in range(100):  # the QualifyLead workflow opens the task a moment later
        if lead["open_tasks"]:
            break
        await asyncio.sleep(0.05)
        lead = (await http.get(f"/v1/leads/{lead['id']}", headers=bearer(staff))).json()
    [task] = lead["open_tasks"]
    assert (task["kind"], task["priority"]) == ("hot_lead", "hot")
    assert "wedding on" in task["reason"], "the task says why the lead is hot"


async def test_a_returning_lead_adds_to_what_she_told_us(http, store, api_key):
    pos, staff = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)
    body = _bride(store.id, budget={"band": "mid"}, metals=["yellow_gold"], styles=["temple"])
    first = (await http.post("/v1/leads", json=body, headers=bearer(pos))).json()
    again = {
        **body,
        "message": "Also looking at a ring for him",
        "budget": {"amount_minor": 50_000_000},
        "metals": ["platinum", "yellow_gold"],
        "occasions": {"anniversary": "2016-06-14"},
    }
    assert (await http.post("/v1/leads", json=again, headers=bearer(pos))).status_code == 200

    lead = (await http.get(f"/v1/leads/{first['lead_id']}", headers=bearer(staff))).json()
    assert lead["budget"] == {"amount_minor": 50_000_000, "currency": "INR", "band": None}
    assert lead["metals"] == ["yellow_gold", "platinum"]
    assert lead["styles"] == ["temple"]
    assert lead["occasions"] == {"anniversary": "2016-06-14"}


@pytest.mark.parametrize(
    ("change", "loc", "words"),
    [
        ({"occasions": {"wedding": "0001-01-01"}}, ["occasions", "wedding"], "between 1900-01-01"),
        ({"occasions": {"wedding": "9999-12-31"}}, ["occasions", "wedding"], "between 1900-01-01"),
        ({"occasions": {"proposal": "2099-01-01"}}, ["occasions", "proposal"], "between"),
        ({"occasions": {"birthday": "1899-12-31"}}, ["occasions", "birthday"], "between"),
        ({"occasions": {"wedding": "soon"}}, ["occasions", "wedding"], "valid date"),
        ({"occasions": {"divorce": "2027-01-01"}}, ["occasions", "divorce"], "Extra inputs"),
        ({"budget": {}}, ["budget"], "amount_minor"),
        ({"budget": {"amount_minor": 0}}, ["budget", "amount_minor"], "greater than 0"),
        ({"budget": {"amount_minor": 10**16}}, ["budget", "amount_minor"], "less than"),
        ({"budget": {"band": "priceless"}}, ["budget", "band"], "entry"),
        ({"budget": {"band": "mid", "currency": "INR"}}, ["budget"], "currency goes with"),
        ({"budget": {"amount_minor": 100, "currency": "rupees"}}, ["budget", "currency"], "match"),
        ({"metals": ["adamantium"]}, ["metals", 0], "yellow_gold"),
        ({"styles": ["x" * 41]}, ["styles", 0], "at most 40"),
        ({"interests": ["a"] * 21}, ["interests"], "at most 20"),
    ],
)
async def test_bad_details_name_the_field_and_change_nothing(
    http, store, api_key, database, change, loc, words
):
    answer = await http.post(
        "/v1/leads", json=_bride(store.id, **change), headers=bearer(api_key(ApiRole.POS))
    )

    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["loc"][1:] == loc
    assert words in problem["msg"]
    assert _leads_in(database, store.id) == 0
