"""Facebook and Instagram lead forms: the handshake, the signed notification, the lead read
from a local stand-in of the Graph API and captured as the web form captures one."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import Consent, ConsentRecord, Event, IntegrationEvent, Lead
from db.types import utcnow
from domain.integrations import issue_secret
from tests.api.test_contract_events import KEY
from tests.conftest import api_client
from tests.factories import indian_mobile
from tests.standin import GraphStandIn

VERIFY = "a-verify-token-typed-into-metas-app-dashboard"


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    server = GraphStandIn().start()
    yield server
    server.stop()


@pytest.fixture
async def meta_http(dev_server, database, worker_for, graph, make_store):
    """The app configured for Meta, with the Meta app secret of a store of the test's own.

    Meta's app secret is one per Facet install: the test's store takes the source over."""
    store = make_store()
    secret = f"app-secret-{uuid.uuid4().hex}"

    def take_over(session) -> None:
        from db.models import IntegrationSecret

        for row in session.scalars(
            select(IntegrationSecret).where(
                IntegrationSecret.source == "meta", IntegrationSecret.retired_at.is_(None)
            )
        ):
            row.retired_at = utcnow()
        session.flush()
        issue_secret(
            session, KEY, source="meta", kind="meta", store_id=store.id, now=utcnow(), given=secret
        )

    database.run(take_over)
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(
            database,
            dev_server.client,
            task_queue,
            meta_verify_token=VERIFY,
            meta_page_access_token=graph.access_token,
            meta_graph_base_url=graph.url,
        ) as http,
    ):
        yield http, store, secret


def notification(*leadgen_ids: str) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": "1044",
                "time": 1764770000,
                "changes": [
                    {
                        "field": "leadgen",
                        "value": {
                            "leadgen_id": lid,
                            "page_id": "1044",
                            "form_id": "880",
                            "created_time": 1764770000,
                        },
                    }
                    for lid in leadgen_ids
                ],
            }
        ],
    }


def a_lead(platform: str, phone: str, *, ticked: dict[str, bool]) -> dict[str, Any]:
    leadgen_id = str(uuid.uuid4().int % 10**15)
    return {
        "id": leadgen_id,
        "created_time": "2026-12-03T09:15:00+0000",
        "form_id": "880",
        "platform": platform,
        "field_data": [
            {"name": "full_name", "values": ["Divya Rao"]},
            {"name": "phone_number", "values": [phone]},
            {"name": "email", "values": [f"divya.{leadgen_id[:6]}@example.com"]},
            {"name": "what_are_you_looking_for", "values": ["engagement ring"]},
        ],
        "custom_disclaimer_responses": [
            {"checkbox_key": key, "is_checked": "1" if on else "0"} for key, on in ticked.items()
        ],
    }


async def send(http, secret: str, body: Any, *, content: bytes | None = None):
    content = content if content is not None else json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
    return await http.post(
        "/v1/integrations/meta/leads",
        content=content,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


def _counts(database, store) -> dict[str, int]:
    def read(s):
        return {
            "leads": s.scalar(
                select(func.count()).select_from(Lead).where(Lead.store_id == store.id)
            ),
            "events": s.scalar(
                select(func.count()).select_from(Event).where(Event.store_id == store.id)
            ),
            "inbox": s.scalar(
                select(func.count())
                .select_from(IntegrationEvent)
                .where(IntegrationEvent.store_id == store.id)
            ),
        }

    return database.read(read)


async def test_the_handshake_answers_the_challenge_only_with_the_right_token(meta_http):
    http, _, _ = meta_http
    asked = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    right = await http.get(
        "/v1/integrations/meta/leads", params={**asked, "hub.verify_token": VERIFY}
    )
    wrong = await http.get(
        "/v1/integrations/meta/leads", params={**asked, "hub.verify_token": "guess"}
    )
    unsubscribe = await http.get(
        "/v1/integrations/meta/leads",
        params={**asked, "hub.mode": "unsubscribe", "hub.verify_token": VERIFY},
    )
    assert (right.status_code, right.text) == (200, "1158201444")
    assert wrong.status_code == 403 and "1158201444" not in wrong.text
    assert unsubscribe.status_code == 403


async def test_an_instagram_lead_is_fetched_and_captured_with_its_consent_and_source(
    meta_http, graph, database
):
    http, store, secret = meta_http
    lead = a_lead("ig", indian_mobile(), ticked={"whatsapp_updates": True, "email_offers": False})
    graph.leads[lead["id"]] = lead
    answer = await send(http, secret, notification(lead["id"]))
    assert answer.status_code == 200, answer.text
    said = answer.json()["leads"][0]
    assert (said["source"], said["consented"]) == ("instagram", ["whatsapp"])
    assert graph.requests and f"access_token={graph.access_token}" in graph.requests[0]
    captured = database.read(lambda s: s.get_one(Lead, uuid.UUID(said["lead_id"])))
    assert (captured.source, captured.first_name, captured.last_name) == (
        "instagram",
        "Divya",
        "Rao",
    )
    consent = database.read(
        lambda s: s.scalars(select(Consent).where(Consent.lead_id == captured.id)).all()
    )
    assert {(c.channel.value, c.status.value) for c in consent} >= {("whatsapp", "granted")}
    assert not any(c.channel.value == "email" and c.status.value == "granted" for c in consent)
    record = database.read(
        lambda s: s.scalars(
            select(ConsentRecord).where(
                ConsentRecord.lead_id == captured.id, ConsentRecord.channel == "whatsapp"
            )
        ).first()
    )
    assert record is not None and "whatsapp_updates" in (record.evidence or "")
    assert record.source == "instagram"
    enquiry = database.read(
        lambda s: s.scalars(
            select(Event).where(Event.lead_id == captured.id, Event.kind == "captured")
        ).one()
    )
    assert "engagement ring" in enquiry.payload["message"]

    # Meta delivers the same notification again: nothing new, and the Graph API is not asked.
    before, asked = _counts(database, store), len(graph.requests)
    again = await send(http, secret, notification(lead["id"]))
    assert again.json()["leads"][0]["duplicate"] is True
    assert _counts(database, store) == before and len(graph.requests) == asked


async def test_a_facebook_lead_that_ticked_a_general_box_consents_on_what_it_gave(
    meta_http, graph, database
):
    http, _, secret = meta_http
    lead = a_lead("fb", indian_mobile(), ticked={"marketing_consent": True})
    graph.leads[lead["id"]] = lead
    said = (await send(http, secret, notification(lead["id"]))).json()["leads"][0]
    assert said["source"] == "facebook"
    assert sorted(said["consented"]) == ["email", "sms", "whatsapp"]


@pytest.mark.parametrize("spoil", ["forged", "wrong secret", "no signature", "not sha256"])
async def test_a_badly_signed_notification_is_refused_and_nothing_is_fetched_or_recorded(
    meta_http, graph, database, spoil
):
    http, store, secret = meta_http
    lead = a_lead("ig", indian_mobile(), ticked={"whatsapp_updates": True})
    graph.leads[lead["id"]] = lead
    content = json.dumps(notification(lead["id"])).encode()
    before = _counts(database, store)
    if spoil == "forged":
        signature = "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()
        answer = await http.post(
            "/v1/integrations/meta/leads",
            content=content.replace(b"1044", b"6666"),
            headers={"X-Hub-Signature-256": signature},
        )
    elif spoil == "wrong secret":
        answer = await send(http, "another-apps-secret", None, content=content)
    elif spoil == "no signature":
        answer = await http.post("/v1/integrations/meta/leads", content=content)
    else:
        sha1 = "sha1=" + hmac.new(secret.encode(), content, hashlib.sha1).hexdigest()
        answer = await http.post(
            "/v1/integrations/meta/leads", content=content, headers={"X-Hub-Signature-256": sha1}
        )
    assert answer.status_code == 403, answer.text
    assert _counts(database, store) == before and graph.requests == []


async def test_after_an_app_secret_reset_the_old_and_new_secrets_both_verify(
    meta_http, graph, database
):
    http, store, old = meta_http
    new = f"reset-{uuid.uuid4().hex}"
    database.run(
        lambda s: issue_secret(
            s, KEY, source="meta", kind="meta", store_id=store.id, now=utcnow(), given=new
        )
    )
    for secret in (old, new):
        lead = a_lead("ig", indian_mobile(), ticked={})
        graph.leads[lead["id"]] = lead
        answer = await send(http, secret, notification(lead["id"]))
        assert answer.status_code == 200, answer.text


async def test_when_the_graph_api_is_down_the_delivery_is_kept_and_meta_redelivers(
    meta_http, graph, database
):
    http, store, secret = meta_http
    lead = a_lead("ig", indian_mobile(), ticked={})
    graph.leads[lead["id"]] = lead
    graph.fail_next(500, 502, 503)
    down = await send(http, secret, notification(lead["id"]))
    assert down.status_code == 503, down.text
    assert _counts(database, store)["leads"] == 0
    later = await send(http, secret, notification(lead["id"]))
    assert later.status_code == 200 and later.json()["leads"][0]["status"] == "captured"
    assert _counts(database, store)["leads"] == 1
