"""Routes for POS and store systems (role `pos`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.auth import require_roles
from api.deps import BackendDep
from api.idempotency import IdempotentRoute
from api.pos import service
from api.pos.schemas import (
    JobStatusIn,
    JobStatusRecorded,
    PurchaseIn,
    PurchaseRecorded,
    ReturnIn,
    ReturnRecorded,
)
from core.vocabulary import ApiRole
from domain.access import Actor

router = APIRouter(prefix="/v1/pos", tags=["pos"], route_class=IdempotentRoute)

Till = Annotated[Actor, Depends(require_roles(ApiRole.POS))]


@router.post(
    "/purchases",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "This transaction was recorded before", "model": PurchaseRecorded}
    },
)
async def post_purchase(
    body: PurchaseIn,
    response: Response,
    principal: Till,
    backend: BackendDep,
) -> PurchaseRecorded:
    """Record a sale (once per POS transaction id) and move the buyer's journeys on."""
    result = await service.record_purchase(body, principal, backend)
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result


@router.post(
    "/returns",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "This refund was recorded before", "model": ReturnRecorded},
        409: {"description": "The refund_id was used for another sale or amount"},
    },
)
async def post_return(
    body: ReturnIn,
    response: Response,
    principal: Till,
    backend: BackendDep,
) -> ReturnRecorded:
    """Record a refund of a sale (once per refund id); the revenue credited goes back."""
    result = await service.record_return(body, principal, backend)
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result


@router.post(
    "/job-status",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "This status was recorded before", "model": JobStatusRecorded},
        409: {"description": "The event_id was used for another job or status"},
    },
)
async def post_job_status(
    body: JobStatusIn,
    response: Response,
    principal: Till,
    backend: BackendDep,
) -> JobStatusRecorded:
    """Record a custom order's new status and tell the buyer's journeys."""
    result = await service.record_job_status(body, principal, backend)
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result
