"""Routes for marketing: campaigns to an audience, previewed, started, watched, cancelled."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.concurrency import run_in_threadpool

from api.auth import require_roles
from api.campaigns import service
from api.campaigns.schemas import CampaignIn, CampaignPreviewView, CampaignView
from api.deps import BackendDep, DatabaseDep
from api.idempotency import IdempotentRoute
from core.vocabulary import ApiRole
from domain import campaigns
from domain.access import Actor

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], route_class=IdempotentRoute)

Marketer = Annotated[Actor, Depends(require_roles(ApiRole.MARKETING))]

_problems: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or unknown API key"},
    403: {"description": "A key without the marketing or admin role, or for another store"},
}
_one: dict[int | str, dict[str, str]] = {404: {"description": "No such campaign"}, **_problems}


@router.get("", responses=_problems)
async def list_campaigns(principal: Marketer, database: DatabaseDep) -> list[CampaignView]:
    """Every campaign the key may see, newest first."""
    return await run_in_threadpool(
        database.read,
        lambda session: [service.view(c) for c in campaigns.listed(session, principal)],
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "A field is invalid (named)"}, **_problems},
)
async def create_campaign(
    body: CampaignIn, principal: Marketer, backend: BackendDep
) -> CampaignView:
    """Create a draft campaign (send `Idempotency-Key` to make a retry safe)."""
    return await run_in_threadpool(
        backend.database.run, lambda session: service.create(session, body, principal)
    )


@router.get("/{campaign_id}", responses=_one)
async def get_campaign(
    campaign_id: uuid.UUID, principal: Marketer, database: DatabaseDep
) -> CampaignView:
    """The campaign and its progress: enrolled of total, batches done."""
    return await run_in_threadpool(
        database.read,
        lambda session: service.view(campaigns.get(session, campaign_id, principal)),
    )


@router.get("/{campaign_id}/preview", responses=_one)
async def preview_campaign(
    campaign_id: uuid.UUID, principal: Marketer, database: DatabaseDep
) -> CampaignPreviewView:
    """How many leads a start would enroll now, and the first message one of them gets."""
    return await run_in_threadpool(
        database.read, lambda session: service.preview(session, campaign_id, principal)
    )


@router.post(
    "/{campaign_id}/start",
    responses={
        409: {"description": "The campaign was cancelled or has completed"},
        422: {"description": "A festival date unknown for the year it would run (named)"},
        503: {"description": "Saved, but Temporal could not be reached: send it again"},
        **_one,
    },
)
async def start_campaign(
    campaign_id: uuid.UUID, principal: Marketer, backend: BackendDep
) -> CampaignView:
    """Start enrolling the audience, in batches, into the campaign's sequence."""
    return await service.start(campaign_id, principal, backend)


@router.post(
    "/{campaign_id}/cancel",
    responses={
        503: {"description": "Saved, but Temporal could not be reached: send it again"},
        **_one,
    },
)
async def cancel_campaign(
    campaign_id: uuid.UUID, principal: Marketer, backend: BackendDep
) -> CampaignView:
    """Stop enrolling, and end the campaign's journeys that have not finished."""
    return await service.cancel(campaign_id, principal, backend)
