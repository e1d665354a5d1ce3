"""Inputs and results of the campaign activities, and their registered names (imported by
workflows/campaign.py through the sandbox's pass-through). Ids only, never contact details."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

ENROLL_CAMPAIGN_BATCH = "enroll_campaign_batch"
FINISH_CAMPAIGN = "finish_campaign"
END_CAMPAIGN_JOURNEYS = "end_campaign_journeys"


class CampaignBatch(BaseModel):
    campaign_id: uuid.UUID
    after: uuid.UUID | None  # the last lead id the previous batch enrolled
    size: int
    number: int  # 1 for the first batch


class CampaignBatchResult(BaseModel):
    enrolled: int
    started: int  # journeys started by this attempt (a retry starts only the missing ones)
    last_lead_id: uuid.UUID | None
    done: bool


class CampaignRef(BaseModel):
    campaign_id: uuid.UUID


class JourneysEnded(BaseModel):
    ended: int
