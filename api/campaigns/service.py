"""Campaign bodies to domain calls and back; the CampaignWorkflow is started and told here."""

from __future__ import annotations

import uuid

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.campaigns.schemas import (
    CampaignIn,
    CampaignPreviewView,
    CampaignView,
    SampleMessageView,
)
from api.deps import Backend
from api.errors import reaching_temporal
from api.sequences.schemas import PlannedStepView
from db.models import Campaign
from db.types import utcnow
from domain import campaigns
from domain.access import Actor
from sequences.vocabulary import Channel
from workflows import handles


def view(campaign: Campaign) -> CampaignView:
    return CampaignView(
        id=campaign.id,
        name=campaign.name,
        sequence_key=campaign.sequence_key,
        store_id=campaign.store_id,
        audience=campaign.audience,
        channels=[Channel(c) for c in campaign.channels],
        status=campaign.status,
        total=campaign.total,
        enrolled=campaign.enrolled,
        batches_done=campaign.batches_done,
        journeys_ended=campaign.journeys_ended,
        created_by=campaign.created_by,
        created_at=campaign.created_at,
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
    )


def audience_of(body: CampaignIn) -> campaigns.Audience:
    return campaigns.Audience(
        channels=tuple(dict.fromkeys(body.channels)),
        store_id=body.store_id,
        segment=body.segment or None,
        score_tier=body.score_tier,
        last_purchase_before=body.last_purchase_before,
        last_purchase_after=body.last_purchase_after,
    )


def create(session: Session, body: CampaignIn, actor: Actor) -> CampaignView:
    return view(
        campaigns.create(
            session,
            actor,
            name=body.name,
            sequence_key=body.sequence_key,
            audience=audience_of(body),
        )
    )


def preview(session: Session, campaign_id: uuid.UUID, actor: Actor) -> CampaignPreviewView:
    found = campaigns.preview(session, campaign_id, actor)
    sample = found.sample
    return CampaignPreviewView(
        campaign_id=campaign_id,
        count=found.count,
        sample_lead_id=found.sample_lead_id,
        sample=SampleMessageView(
            step_id=sample.step_id,
            channel=sample.channel,
            subject=sample.message.subject,
            body=sample.message.body,
        )
        if sample
        else None,
        problem=found.problem,
        timezone=found.timezone,
        plan=[
            PlannedStepView(step_id=s.step_id, at=s.at, action=s.action, detail=s.detail)
            for s in found.plan
        ],
    )


async def start(campaign_id: uuid.UUID, actor: Actor, backend: Backend) -> CampaignView:
    """Mark it running (its audience counted) and start its workflow; a repeat is harmless."""
    started = await run_in_threadpool(
        backend.database.run,
        lambda session: view(campaigns.start(session, campaign_id, actor, utcnow())),
    )
    async with reaching_temporal(f"campaign {campaign_id}'s start"):
        await handles.start_campaign(
            backend.temporal, backend.settings.temporal_task_queue, campaign_id
        )
    return started


async def cancel(campaign_id: uuid.UUID, actor: Actor, backend: Backend) -> CampaignView:
    """Stop enrolling at once; the campaign's running journeys are ended (by its workflow, or
    here when the workflow has finished)."""
    cancelled = await run_in_threadpool(
        backend.database.run,
        lambda session: view(campaigns.cancel(session, campaign_id, actor, utcnow())),
    )
    database = backend.database

    async def still_running() -> list[str]:
        return await run_in_threadpool(
            database.read, lambda session: campaigns.journeys_to_end(session, campaign_id)
        )

    async with reaching_temporal(f"campaign {campaign_id}'s cancel"):
        ended = await handles.cancel_campaign(backend.temporal, campaign_id, still_running)
    if ended is not None:
        await run_in_threadpool(
            database.run, lambda session: campaigns.record_ended(session, campaign_id, ended)
        )
    return cancelled
