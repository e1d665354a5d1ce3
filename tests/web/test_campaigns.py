"""The console's campaign pages over HTTP: a marketing person creates a campaign (a double
submit makes one), reads its preview, starts it; the form names what is wrong; an associate
is refused every campaign page and form."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from db.models import Campaign
from sequences.vocabulary import Channel
from tests.factories import make_lead
from tests.web.people import make_account, signed_in


def _form_id(page: str) -> str:
    found = re.search(r'name="form_id" value="([0-9a-f-]{36})"', page)
    assert found, "the form carries no one-time id"
    return found.group(1)


async def test_marketing_creates_and_previews_a_campaign_once_however_often_it_is_sent(
    console, database, store
):
    for _ in range(2):
        make_lead(database, store, consent=[Channel.EMAIL])
    async with console() as http:
        marketing = await signed_in(http, make_account(database, store, "marketing"))
        page = (await http.get("/console/campaigns")).text
        fields = {
            "form_id": _form_id(page), "name": "Valentine's", "sequence_key": "gifting_valentines",
            "store_id": str(store.id), "channel_email": "on",
        }  # fmt: skip
        first = await marketing.post("/console/campaigns", fields)
        again = await marketing.post("/console/campaigns", fields)
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"]
        shown = await http.get(first.headers["location"])
    assert shown.status_code == 200
    assert '<strong id="audience-count">2</strong>' in shown.text
    assert "Start the campaign" in shown.text
    made = database.read(
        lambda s: s.scalar(
            select(func.count()).select_from(Campaign).where(Campaign.name == "Valentine's",
                                                             Campaign.store_id == store.id)
        )
    )  # fmt: skip
    assert made == 1


async def test_the_campaign_form_names_what_is_missing_and_saves_nothing(console, database, store):
    async with console() as http:
        marketing = await signed_in(http, make_account(database, store, "marketing"))
        answer = await marketing.post(
            "/console/campaigns",
            {"name": "", "sequence_key": "festive_diwali", "last_purchase_before": "0001-01-01"},
        )
    assert answer.status_code == 422
    assert "Give the campaign a name" in answer.text
    assert "Choose at least one channel" in answer.text
    assert "Must be between 1900-01-01" in answer.text


async def test_an_associate_is_refused_campaign_pages_and_forms(console, database, store):
    async with console() as http:
        associate = await signed_in(http, make_account(database, store, "associate"))
        listed = await http.get("/console/campaigns")
        created = await associate.post(
            "/console/campaigns",
            {"name": "x", "sequence_key": "festive_diwali", "channel_email": "on"},
        )
        started = await associate.post(f"/console/campaigns/{uuid.uuid4()}/start")
    assert (listed.status_code, created.status_code, started.status_code) == (403, 403, 403)
