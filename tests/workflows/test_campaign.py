"""Campaigns on the time-skipping server, with the real worker, activities and send gate:
500 leads enrolled in batches (the preview's count, exactly), every message inside quiet
hours and under the caps; a cancel halfway leaves the rest of the audience untouched and ends
the journeys already started; a Diwali campaign reaches the festive_diwali journey."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from core.vocabulary import ApiRole, JourneyStatus
from db.models import Campaign, CampaignMember, Enrollment, Lead, Touch
from db.types import utcnow
from domain import campaigns
from domain import sequences as library
from domain.access import Actor
from domain.campaigns import Audience
from domain.reference import Reference
from sequences.vocabulary import Channel
from tests.factories import make_lead, set_caps, skip_ahead
from tests.workflows.replay import keep_history
from workflows import handles
from workflows.campaign import CampaignInput, CampaignWorkflow

MARKETING = Actor(
    key_id=None, name="marketing", role=ApiRole.MARKETING, store_id=None, staff_id=None
)
KOLKATA = ZoneInfo("Asia/Kolkata")


def _collection_sequence(database) -> str:
    """A new-collection launch: three messages within a day, more than a 1-a-day cap allows."""
    key = f"collection_{uuid.uuid4().hex[:6]}"
    body = {
        "key": key,
        "name": "New collection launch",
        "goal": "purchase",
        "exit_on": ["opted_out"],
        "steps": [
            {"id": "launch", "at": {"minutes": 0}, "send": {"channel": "preferred",
                                                            "template": "engagement/welcome"}},
            {"id": "reminder", "at": {"hours": 2}, "send": {"channel": "email",
                                                            "template": "engagement/four_cs"}},
            {"id": "last_call", "at": {"days": 1}, "send": {"channel": "email",
                                                             "template": "engagement/welcome"}},
        ],
    }  # fmt: skip
    database.run(lambda s: library.publish(s, Reference(), body, by="test"))
    return key


def _campaign(database, store, key: str, **audience) -> uuid.UUID:
    given = Audience(channels=(Channel.EMAIL, Channel.WHATSAPP), store_id=store.id, **audience)
    return database.run(
        lambda s: campaigns.create(s, MARKETING, name="Launch", sequence_key=key, audience=given).id
    )


def _members(database, campaign_id) -> list[CampaignMember]:
    return database.read(
        lambda s: list(
            s.scalars(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id))
        )
    )


def _sent(database, lead_ids) -> list[Touch]:
    return database.read(
        lambda s: list(
            s.scalars(
                select(Touch).where(
                    Touch.lead_id.in_(lead_ids),
                    Touch.sent_at.is_not(None),  # went out (here: to the outbox)
                    Touch.staff_id.is_(None),
                )
            )
        )
    )


async def _outcome(handle):
    """The workflow's result. The time-skipping server ends a long poll for it with no
    event after a while (the SDK then says "No completion event found"): ask again."""
    for _ in range(10):
        try:
            return await handle.result()
        except RuntimeError as error:
            if "No completion event" not in str(error):
                raise
    raise AssertionError("the campaign workflow never completed")


async def _nothing() -> list[str]:
    return []


async def _start(env, database, campaign_id, task_queue, **options) -> None:
    now = await env.get_current_time()
    database.run(lambda s: campaigns.start(s, campaign_id, MARKETING, now))
    await handles.start_campaign(env.client, task_queue, campaign_id, **options)


async def test_a_500_lead_campaign_enrolls_the_previewed_audience_within_caps_and_quiet_hours(
    time_skipping, database, store, worker_for
):
    env = time_skipping
    set_caps(database, store, per_day=1, per_week=2)
    leads = [make_lead(database, store, timezone=str(KOLKATA)) for _ in range(500)]
    key = _collection_sequence(database)
    campaign_id = _campaign(database, store, key)
    preview = database.read(lambda s: campaigns.preview(s, campaign_id, MARKETING))
    assert preview.count == 500
    assert preview.sample is not None and preview.sample.step_id == "launch"
    assert "Asha" in preview.sample.message.body

    async with worker_for(env.client) as task_queue:
        await _start(env, database, campaign_id, task_queue)
        handle = env.client.get_workflow_handle_for(CampaignWorkflow.run, f"campaign:{campaign_id}")
        progress = await _outcome(handle)
        assert (progress.enrolled, progress.batches_done) == (500, 6)  # the sixth finds none
        for _ in range(40):  # each journey's last message is due a day in, plus quiet hours
            await skip_ahead(env, timedelta(hours=6))
            running = database.read(
                lambda s: s.scalar(
                    select(Enrollment.id).where(
                        Enrollment.lead_id.in_(leads), Enrollment.status == JourneyStatus.ACTIVE
                    )
                )
            )
            if running is None:
                break

    row = database.read(lambda s: s.get_one(Campaign, campaign_id))
    assert (row.status, row.total, row.enrolled) == ("completed", 500, preview.count)
    assert {m.lead_id for m in _members(database, campaign_id)} == set(leads)
    sent = _sent(database, leads)
    assert sent, "the campaign sent nothing"
    # No message inside quiet hours (India, promotional: 10:00-21:00 local) ...
    local = [t.sent_at.astimezone(KOLKATA) for t in sent if t.sent_at]
    assert all(time(10) <= at.time() < time(21) for at in local), min(local, key=lambda a: a.time())
    # ... and no lead over the cap: one a day, two a week.
    per_day = Counter((t.lead_id, t.sent_at.astimezone(KOLKATA).date()) for t in sent if t.sent_at)
    assert max(per_day.values()) == 1
    per_lead = Counter(t.lead_id for t in sent)
    assert max(per_lead.values()) <= 2 and len(per_lead) == 500
    capped = database.read(
        lambda s: s.scalar(
            select(Touch.id).where(Touch.lead_id.in_(leads), Touch.reason == "frequency_cap")
        )
    )
    assert capped is not None, "the cap never had to hold a message back"


async def test_cancelling_halfway_leaves_the_rest_of_the_audience_untouched(
    time_skipping, database, store, worker_for
):
    env = time_skipping
    set_caps(database, store, per_day=5, per_week=10)
    leads = [make_lead(database, store) for _ in range(500)]  # afternoon: sends go at once
    key = _collection_sequence(database)
    campaign_id = _campaign(database, store, key)

    async with worker_for(env.client) as task_queue:
        await _start(env, database, campaign_id, task_queue, pace=timedelta(hours=1))
        handle = env.client.get_workflow_handle_for(CampaignWorkflow.run, f"campaign:{campaign_id}")
        await env.sleep(timedelta(hours=2, minutes=30))  # batches at 0 h, 1 h and 2 h
        progress = await handle.query(CampaignWorkflow.progress)
        assert progress.batches_done == 3 and progress.enrolled == 300
        cancelled_at = utcnow()
        database.run(lambda s: campaigns.cancel(s, campaign_id, MARKETING, cancelled_at))
        assert await handles.cancel_campaign(env.client, campaign_id, _nothing) is None
        result = await _outcome(handle)
        await keep_history(handle, "campaign_cancelled_halfway")
        sent_before = {t.id for t in _sent(database, leads)}
        for _ in range(12):  # the journeys' day-1 step would be due by now
            await skip_ahead(env, timedelta(hours=6))

    assert result.cancelled and result.enrolled == 300
    members = {m.lead_id for m in _members(database, campaign_id)}
    assert len(members) == 300
    rest = [lead for lead in leads if lead not in members]
    assert len(rest) == 200
    # The leads never enrolled got nothing and have no journey.
    assert _sent(database, rest) == []
    assert (
        database.read(lambda s: s.scalar(select(Enrollment.id).where(Enrollment.lead_id.in_(rest))))
        is None
    )
    # What went out before the cancel stayed sent; nothing went out after it.
    sent_after = {t.id for t in _sent(database, leads)}
    assert sent_before and sent_after == sent_before
    journeys = database.read(
        lambda s: list(s.scalars(select(Enrollment).where(Enrollment.lead_id.in_(members))))
    )
    assert {(e.status, e.outcome) for e in journeys} == {
        (JourneyStatus.EXITED, "campaign_cancelled")
    }
    assert result.journeys_ended == 300
    # A journey ended by the cancel, for the replay test (recorded with the server still up).
    ended_journey = env.client.get_workflow_handle(journeys[0].workflow_id)
    await keep_history(ended_journey, "journey_ended_by_campaign_cancel")
    row = database.read(lambda s: s.get_one(Campaign, campaign_id))
    assert (row.status, row.enrolled, row.journeys_ended) == ("cancelled", 300, 300)


async def test_a_diwali_campaign_enrolls_gifting_leads_in_festive_diwali(
    time_skipping, database, store, worker_for
):
    env = time_skipping
    leads = [make_lead(database, store) for _ in range(3)]

    def gifting(session) -> None:
        for lead_id in leads[:2]:
            session.get_one(Lead, lead_id).segment = "gifting"

    database.run(gifting)
    campaign_id = _campaign(database, store, "festive_diwali", segment="gifting")
    assert database.read(lambda s: campaigns.preview(s, campaign_id, MARKETING)).count == 2
    async with worker_for(env.client) as task_queue:
        await _start(env, database, campaign_id, task_queue)
        handle = env.client.get_workflow_handle_for(CampaignWorkflow.run, f"campaign:{campaign_id}")
        assert (await _outcome(handle)).enrolled == 2
        await keep_history(handle, "campaign_completed")
        journeys = database.read(
            lambda s: list(s.scalars(select(Enrollment).where(Enrollment.lead_id.in_(leads))))
        )
        assert sorted(e.lead_id for e in journeys) == sorted(leads[:2])
        assert {e.sequence_key for e in journeys} == {"festive_diwali"}
        status = await handles.journey_status(env.client, journeys[0].workflow_id)
        assert status is not None and status.sequence_key == "festive_diwali"
        assert status.current_step == "gift_guide" and status.next_due_at is not None


async def test_a_long_campaign_continues_as_new_and_enrolls_everyone_once(
    dev_server, database, store, worker_for
):
    """The dev server here suggests continue-as-new after 60 events: 12 batches of 5 leads
    carry their progress across runs, and no lead is enrolled twice."""
    leads = [make_lead(database, store, consent=[Channel.EMAIL]) for _ in range(60)]
    key = _collection_sequence(database)
    campaign_id = _campaign(database, store, key)
    client = dev_server.client
    async with worker_for(client) as task_queue:
        database.run(lambda s: campaigns.start(s, campaign_id, MARKETING, utcnow()))
        handle = await client.start_workflow(
            CampaignWorkflow.run,
            CampaignInput(campaign_id=campaign_id, batch_size=5),
            id=f"campaign:{campaign_id}",
            task_queue=task_queue,
        )
        progress = await handle.result()
        first_run = await client.get_workflow_handle(
            handle.id, run_id=handle.first_execution_run_id
        ).describe()

    assert first_run.status is WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert (progress.enrolled, progress.batches_done) == (60, 13)
    members = _members(database, campaign_id)
    assert sorted(m.lead_id for m in members) == sorted(leads)
    row = database.read(lambda s: s.get_one(Campaign, campaign_id))
    assert (row.status, row.enrolled, row.batches_done) == ("completed", 60, 13)
