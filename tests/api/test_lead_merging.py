"""One person across systems: likely duplicates listed, a merge that moves everything —
history, journeys (one running per sequence), external ids — and says who did it."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from core.vocabulary import ApiRole, JourneyStatus
from db.models import Enrollment, Event, LeadExternalId
from tests.api.test_contract_events import _customer, _source, envelope, post
from tests.conftest import bearer
from tests.factories import indian_mobile


async def _capture(http, key: str, store, **fields) -> dict:
    answer = await http.post(
        "/v1/leads", json={"store_id": str(store.id), "source": "web_form", **fields},
        headers=bearer(key),
    )  # fmt: skip
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def test_two_leads_of_one_person_are_listed_then_merged_with_everything_moved(
    http, store, api_key, database, dev_server
):
    key = api_key(ApiRole.ASSOCIATE, store_id=store.id)
    admin = api_key(ApiRole.ADMIN)
    tag = uuid.uuid4().hex[:6]
    keep = await _capture(http, key, store, first_name="Asha", last_name="Rao",
                          email=f"asha.rao.{tag}@gmail.com", segment="engagement")  # fmt: skip
    # The same person on Instagram a month later: Gmail's dots and a +tag, another phone,
    # the same engagement journey, and an anniversary the first lead never gave.
    other = await _capture(http, key, store, first_name="Asha", last_name="Rao",
                           email=f"a.sharao.{tag}+rings@gmail.com", phone=indian_mobile(),
                           segment="engagement",
                           occasions={"anniversary": "2016-06-14"})  # fmt: skip
    source, secret = _source(database, store)  # the till knows the second as C-77
    upsert = envelope(store, "customer.upserted", {"customer": _customer(
        f"C-{tag}", email=f"a.sharao.{tag}+rings@gmail.com")})  # fmt: skip
    assert (await post(http, source, secret, upsert)).json()["lead_id"] == other["lead_id"]

    listed = await http.get(
        "/v1/leads/duplicates", params={"store_id": str(store.id)}, headers=bearer(key)
    )
    assert listed.status_code == 200, listed.text
    pair = next(p for p in listed.json() if p["other_lead_id"] == other["lead_id"])
    assert pair["keep_lead_id"] == keep["lead_id"] and "same mailbox" in pair["reasons"]

    merged = await http.post(
        f"/v1/leads/{keep['lead_id']}/merge", json={"other_lead_id": other["lead_id"]},
        headers=bearer(admin),
    )  # fmt: skip
    assert merged.status_code == 200, merged.text
    keep_id, other_id = uuid.UUID(keep["lead_id"]), uuid.UUID(other["lead_id"])

    def journeys(s):
        return s.scalars(select(Enrollment).where(Enrollment.lead_id == keep_id)).all()

    rows = database.read(journeys)
    running = sorted(r.sequence_key for r in rows if r.status is JourneyStatus.ACTIVE)
    assert running == ["anniversary_countdown", "engagement_ring"]  # one per sequence
    ended = {r.workflow_id: r.outcome for r in rows if r.status is not JourneyStatus.ACTIVE}
    assert ended == {other["journey_workflow_id"]: "merged", **{
        wid: "merged" for wid in other["countdown_workflow_ids"]}}  # fmt: skip
    countdown = f"occasion:{keep_id}:anniversary"  # the date she gave the second time
    assert [r.workflow_id for r in rows if r.sequence_key == "anniversary_countdown"
            and r.status is JourneyStatus.ACTIVE] == [countdown]  # fmt: skip
    described = await dev_server.client.get_workflow_handle(countdown).describe()
    assert described.status is not None and described.status.name == "RUNNING"

    def history(s):
        return s.scalars(select(Event).where(Event.lead_id == keep_id)).all()

    events = database.read(history)
    assert sorted(e.kind for e in events).count("captured") == 2  # both histories
    note = next(e for e in events if e.payload.get("merged_lead_id") == str(other_id))
    assert note.payload["merged_by"] and note.payload["moved"]["events"] == 1
    assert other["journey_workflow_id"] in note.payload["moved"]["journeys_ended"]
    timeline = await http.get(f"/v1/leads/{keep_id}/timeline", headers=bearer(key))
    assert any(
        "Merged with a duplicate lead (Asha Rao)" in str(entry)
        for entry in timeline.json()["entries"]
    )

    # The till's id for her moved: its next sale is the kept lead's.
    owners = database.read(
        lambda s: s.scalars(
            select(LeadExternalId.lead_id).where(LeadExternalId.external_id == f"C-{tag}")
        ).all()
    )
    assert owners == [keep_id]
    bought = {"external_sale_id": f"S-{tag}", "total_minor": 90_000_00,
              "customer": {"external_customer_id": f"C-{tag}"}}  # fmt: skip
    sale = envelope(store, "sale.completed", bought)
    assert (await post(http, source, secret, sale)).json()["lead_id"] == str(keep_id)
    gone = await http.get(f"/v1/leads/{other_id}", headers=bearer(key))
    assert gone.status_code == 404
