"""Marketing's campaign API on the dev server with the real worker: create (idempotent),
preview, start, watch the progress, cancel; other roles are refused."""

from __future__ import annotations

import uuid

import pytest

from core.vocabulary import ApiRole
from sequences.vocabulary import Channel
from tests.conftest import api_client, bearer
from tests.factories import make_lead


@pytest.fixture
async def http(dev_server, database, worker_for):
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as client,
    ):
        yield client


async def _when_enrolled(dev_server, http, path, headers) -> dict:
    """The campaign once its workflow has enrolled the whole audience."""
    campaign_id = path.rsplit("/", 1)[-1]
    await dev_server.client.get_workflow_handle(f"campaign:{campaign_id}").result()
    return (await http.get(path, headers=headers)).json()


async def test_marketing_creates_previews_starts_and_watches_a_campaign(
    http, api_key, database, store, dev_server
):
    leads = [make_lead(database, store, consent=[Channel.EMAIL]) for _ in range(3)]
    make_lead(database, store, consent=[])  # no consent: never in the audience
    marketing = bearer(api_key(ApiRole.MARKETING))
    body = {"name": "Valentine's", "sequence_key": "gifting_valentines",
            "channels": ["email"], "store_id": str(store.id)}  # fmt: skip
    retry = marketing | {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    created = await http.post("/v1/campaigns", json=body, headers=retry)
    again = await http.post("/v1/campaigns", json=body, headers=retry)
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert again.json()["id"] == created.json()["id"]
    path = f"/v1/campaigns/{created.json()['id']}"

    preview = (await http.get(f"{path}/preview", headers=marketing)).json()
    assert preview["count"] == 3 and preview["sample_lead_id"] in {str(x) for x in leads}
    assert preview["sample"]["step_id"] == "gift_guide" and preview["sample"]["channel"] == "email"
    assert [s["step_id"] for s in preview["plan"]] == ["gift_guide", "engraving_deadline",
                                                       "last_minute"]  # fmt: skip

    started = await http.post(f"{path}/start", headers=marketing)
    assert started.status_code == 200 and started.json()["total"] == 3
    done = await _when_enrolled(dev_server, http, path, marketing)
    assert (done["status"], done["enrolled"], done["total"]) == ("completed", 3, 3)
    listed = (await http.get("/v1/campaigns", headers=marketing)).json()
    assert created.json()["id"] in {c["id"] for c in listed}

    cancelled = await http.post(f"{path}/cancel", headers=marketing)
    assert cancelled.status_code == 200
    found = (await http.get(path, headers=marketing)).json()
    assert (found["status"], found["journeys_ended"]) == ("cancelled", 3)
    restart = await http.post(f"{path}/start", headers=marketing)
    assert restart.status_code == 409


async def test_an_associate_may_not_touch_campaigns(http, api_key, store):
    associate = bearer(api_key(ApiRole.ASSOCIATE, store_id=store.id))
    body = {"name": "x", "sequence_key": "festive_diwali", "channels": ["email"]}
    assert (await http.post("/v1/campaigns", json=body, headers=associate)).status_code == 403
    assert (await http.get("/v1/campaigns", headers=associate)).status_code == 403


async def test_a_campaign_names_what_is_wrong_with_it(http, api_key):
    marketing = bearer(api_key(ApiRole.MARKETING))
    unknown = {"name": "x", "sequence_key": "no_such_sequence", "channels": ["email"]}
    answer = await http.post("/v1/campaigns", json=unknown, headers=marketing)
    assert answer.status_code == 422 and "sequence_key" in answer.text
    no_channel = {"name": "x", "sequence_key": "festive_diwali", "channels": []}
    answer = await http.post("/v1/campaigns", json=no_channel, headers=marketing)
    assert answer.status_code == 422 and "channels" in answer.text
