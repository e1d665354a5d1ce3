"""Marketing's sequence API: publish immutable versions, preview, and pinning of journeys."""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import pytest

from core.vocabulary import ApiRole
from tests.conftest import api_client
from tests.factories import indian_mobile
from workflows.journey import NurtureJourney


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _sequence(key: str, second_template: str = "engagement/four_cs") -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Test {key}",
        "steps": [
            {
                "id": "hello",
                "send": {"template": "engagement/welcome", "purpose": "transactional"},
            },
            {"id": "guide", "at": {"days": 5}, "send": {"template": second_template}},
            {"id": "invite", "at": {"days": 10}, "send": {"template": "engagement/viewing_invite"}},
        ],
    }


@pytest.fixture
async def http(dev_server, database, worker_for):
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as client,
    ):
        yield client


async def test_publish_makes_immutable_versions_and_only_when_the_body_changed(http, api_key):
    marketing = api_key(ApiRole.MARKETING)
    key = f"test_{uuid.uuid4().hex[:8]}"
    first = await http.post("/v1/sequences", json=_sequence(key), headers=_auth(marketing))
    same = await http.post("/v1/sequences", json=_sequence(key), headers=_auth(marketing))
    changed = await http.post(
        "/v1/sequences",
        json=_sequence(key, "engagement/diamond_grades"),
        headers=_auth(marketing),
    )

    assert (first.status_code, first.json()["version"]) == (201, 1)
    assert (same.status_code, same.json()) == (200, {"key": key, "version": 1, "created": False})
    assert (changed.status_code, changed.json()["version"]) == (201, 2)
    versions = (await http.get(f"/v1/sequences/{key}/versions", headers=_auth(marketing))).json()
    assert [v["version"] for v in versions] == [1, 2]
    old = (await http.get(f"/v1/sequences/{key}/versions/1", headers=_auth(marketing))).json()
    assert old["body"]["steps"][1]["send"]["template"] == "engagement/four_cs"
    listed = (await http.get("/v1/sequences", headers=_auth(marketing))).json()
    assert {"engagement_ring", "anniversary_countdown", key} <= {v["key"] for v in listed}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: s["steps"].append(dict(s["steps"][0])), "step 'hello': duplicate step id"),
        (
            lambda s: s["steps"][1]["send"].update(template="engagement/nope"),
            "step 'guide', field send.template: unknown template",
        ),
        (lambda s: s["steps"][2].update(at={"days": 1}), "step 'invite': field 'at' is earlier"),
        (lambda s: s["steps"][0].update(goto="hello"), "a step has one action"),
        (
            lambda s: s["steps"].insert(1, {"id": "back", "goto": "hello"}),
            "goes back to 'hello'",
        ),
        (
            lambda s: s["steps"].append({"id": "wait", "wait_for": {"event": "reply"}}),
            "step 'wait', field wait_for.within: Field required",
        ),
        (lambda s: s.update(on_event={"teleported": {"pause": {"days": 1}}}), "on_event"),
        # Past a timedelta (was a 500), and past ten years in all (ran into the journey).
        (lambda s: s["steps"][2].update(at={"minutes": 10**20}), "less than or equal to"),
        (lambda s: s.update(reply_pauses={"days": 3660, "hours": 1}), "at most 3660 days"),
    ],
)
async def test_a_bad_sequence_is_refused_naming_step_and_field(http, api_key, change, words):
    marketing = api_key(ApiRole.MARKETING)
    key = f"bad_{uuid.uuid4().hex[:8]}"
    body = copy.deepcopy(_sequence(key))
    change(body)
    response = await http.post("/v1/sequences", json=body, headers=_auth(marketing))
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"][0]["msg"]
    missing = await http.get(f"/v1/sequences/{key}/versions", headers=_auth(marketing))
    assert missing.status_code == 404  # nothing was published


async def test_enrolling_into_an_unpublished_sequence_is_refused(http, api_key):
    body = _sequence(f"t_{uuid.uuid4().hex[:8]}")
    body["steps"].append({"id": "next", "enroll": {"sequence": "no_such_sequence"}})
    response = await http.post(
        "/v1/sequences", json=body, headers=_auth(api_key(ApiRole.MARKETING))
    )
    assert response.status_code == 422
    assert "no_such_sequence" in response.json()["detail"][0]["msg"]


async def test_only_marketing_and_admin_keys_manage_sequences(http, api_key, store):
    for role in (ApiRole.POS, ApiRole.ASSOCIATE):
        response = await http.get("/v1/sequences", headers=_auth(api_key(role)))
        assert response.status_code == 403
    assert (
        await http.get("/v1/sequences", headers=_auth(api_key(ApiRole.ADMIN)))
    ).status_code == 200


async def test_preview_dates_each_step_on_the_leads_clock(http, api_key):
    response = await http.post(
        "/v1/sequences/engagement_welcome/preview",
        json={
            "sample": {"timezone": "America/New_York"},
            "start_at": "2026-03-06T15:00:00Z",
        },
        headers=_auth(api_key(ApiRole.MARKETING)),
    )
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]
    assert [(s["step_id"], s["action"]) for s in steps] == [
        ("welcome", "send"),
        ("four_cs", "send"),
        ("viewing_invite", "send"),
    ]
    # 10:00 in New York, before and after the clocks go forward on 8 March 2026.
    assert [s["at"] for s in steps] == [
        "2026-03-06T10:00:00-05:00",
        "2026-03-08T11:00:00-04:00",
        "2026-03-13T11:00:00-04:00",
    ]


async def test_preview_of_a_countdown_and_of_unknown_things(http, api_key):
    marketing = api_key(ApiRole.MARKETING)
    countdown = await http.post(
        "/v1/sequences/anniversary_countdown/preview",
        json={
            "sample": {"timezone": "Asia/Kolkata", "occasions": {"anniversary": "2015-06-14"}},
            "start_at": "2026-11-24T05:30:00Z",
        },
        headers=_auth(marketing),
    )
    sends = [s for s in countdown.json()["steps"] if s["action"] == "send"]
    assert sends[0]["at"].startswith("2027-04-30")  # 45 days before 14 June 2027
    assert sends[-1]["at"].startswith("2027-06-14")
    unknown = await http.post("/v1/sequences/nope/preview", json={}, headers=_auth(marketing))
    assert unknown.status_code == 404
    bad_zone = await http.post(
        "/v1/sequences/engagement_welcome/preview",
        json={"sample": {"timezone": "Mars/Base"}},
        headers=_auth(marketing),
    )
    assert bad_zone.status_code == 422
    far_off = await http.post(
        "/v1/sequences/engagement_welcome/preview",
        json={"start_at": "9999-12-31T23:59:59Z"},  # was a 500: the steps' dates overflowed
        headers=_auth(marketing),
    )
    assert far_off.status_code == 422
    assert far_off.json()["detail"][0]["loc"] == ["body", "start_at"]


async def test_a_version_number_past_what_the_database_holds_is_a_422(http, api_key):
    marketing = api_key(ApiRole.MARKETING)
    huge = 2**31  # one past PostgreSQL's INTEGER (SQLite's ends at 2^63): was a 500
    read = await http.get(
        f"/v1/sequences/engagement_welcome/versions/{huge}", headers=_auth(marketing)
    )
    assert read.status_code == 422, read.text
    assert read.json()["detail"][0]["loc"] == ["path", "number"]
    preview = await http.post(
        "/v1/sequences/engagement_welcome/preview",
        json={"version": 10**30},
        headers=_auth(marketing),
    )
    assert preview.status_code == 422, preview.text
    assert preview.json()["detail"][0]["loc"] == ["body", "version"]
    missing = await http.get(
        f"/v1/sequences/engagement_welcome/versions/{huge - 1}", headers=_auth(marketing)
    )
    assert missing.status_code == 404


async def test_running_journeys_keep_their_version_and_new_leads_get_the_new_one(
    dev_server, database, store, api_key, worker_for
):
    key = f"pin_{uuid.uuid4().hex[:8]}"
    marketing, till = api_key(ApiRole.MARKETING), api_key(ApiRole.POS)
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue, fallback_sequence_key=key) as http,
    ):
        assert (
            await http.post("/v1/sequences", json=_sequence(key), headers=_auth(marketing))
        ).status_code == 201

        async def capture() -> str:
            body = {"store_id": str(store.id), "source": "qr", "phone": indian_mobile()}
            response = await http.post("/v1/leads", json=body, headers=_auth(till))
            assert response.status_code == 201, response.text
            return str(response.json()["journey_workflow_id"])

        running = [await capture() for _ in range(100)]
        v2 = await http.post(
            "/v1/sequences",
            json=_sequence(key, "engagement/diamond_grades"),
            headers=_auth(marketing),
        )
        assert v2.json()["version"] == 2
        newcomer = await capture()

        async def version(workflow_id: str) -> int:
            handle = dev_server.client.get_workflow_handle(workflow_id)
            return (await handle.query(NurtureJourney.status)).sequence_version

        versions = await asyncio.gather(*(version(w) for w in running))
        assert versions == [1] * 100
        assert await version(newcomer) == 2
        for workflow_id in [*running, newcomer]:
            await dev_server.client.get_workflow_handle(workflow_id).terminate("test over")
