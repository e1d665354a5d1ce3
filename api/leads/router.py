"""Routes for leads: capture, read, timeline, events."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from api.auth import require_roles
from api.deps import BackendDep, DatabaseDep
from api.idempotency import IdempotentRoute
from api.leads import service
from api.leads.schemas import (
    CaptureResult,
    EventIn,
    EventRecorded,
    JourneyDetail,
    LeadCapture,
    LeadView,
    LikelyDuplicateView,
    MergeIn,
    MergeResult,
    Timeline,
)
from core.vocabulary import ApiRole
from domain.access import Actor

router = APIRouter(prefix="/v1/leads", tags=["leads"], route_class=IdempotentRoute)

Capturer = Annotated[Actor, Depends(require_roles(ApiRole.ASSOCIATE, ApiRole.POS))]
Reader = Annotated[Actor, Depends(require_roles(ApiRole.ASSOCIATE))]
EventSender = Annotated[Actor, Depends(require_roles(ApiRole.ASSOCIATE, ApiRole.POS))]

_problems: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or unknown API key"},
    403: {"description": "The key's role or store does not allow this"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The person was already a lead", "model": CaptureResult},
        **_problems,
    },
)
async def capture_lead(
    body: LeadCapture,
    response: Response,
    principal: Capturer,
    backend: BackendDep,
) -> CaptureResult:
    """Capture a lead (or find the existing one) and enroll it in its journey."""
    result = await service.capture_lead(body, principal, backend)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return result


@router.get("/duplicates", responses=_problems)
async def get_duplicates(
    principal: Reader,
    database: DatabaseDep,
    store_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[LikelyDuplicateView]:
    """Pairs of leads that look like one person (same mailbox, number, name and birthday…)."""
    return await run_in_threadpool(
        database.read, lambda s: service.likely_duplicates(s, principal, store_id, limit)
    )


@router.post(
    "/{lead_id}/merge",
    responses={
        404: {"description": "No such lead (or it was merged already)"},
        **_problems,
    },
)
async def merge_lead(
    lead_id: uuid.UUID, body: MergeIn, principal: Reader, backend: BackendDep
) -> MergeResult:
    """Merge a duplicate into this lead: its history, journeys and external ids move here."""
    return await service.merge(lead_id, body, principal, backend)


@router.get("/{lead_id}", responses={404: {"description": "No such lead"}, **_problems})
async def get_lead(lead_id: uuid.UUID, principal: Reader, database: DatabaseDep) -> LeadView:
    """The lead, its consents and its journeys."""
    return await run_in_threadpool(
        database.read, lambda session: service.read_lead(session, lead_id, principal)
    )


@router.get("/{lead_id}/timeline", responses={404: {"description": "No such lead"}, **_problems})
async def get_timeline(
    lead_id: uuid.UUID,
    principal: Reader,
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=service.TIMELINE_MAX_LIMIT)] = service.TIMELINE_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Timeline:
    """Everything that happened to the lead, oldest first: events and messages, sent or
    suppressed; `limit` entries a page, and `next_cursor` (pass it as `cursor`) for more."""
    try:
        start = service.TimelineCursor.decode(cursor) if cursor is not None else None
    except service.BadCursor as error:
        raise RequestValidationError(
            [{"loc": ("query", "cursor"), "msg": str(error), "type": "value_error"}]
        ) from error
    return await run_in_threadpool(
        database.read,
        lambda session: service.read_timeline(
            session, lead_id, principal, limit=limit, cursor=start
        ),
    )


@router.get("/{lead_id}/journeys", responses={404: {"description": "No such lead"}, **_problems})
async def get_journeys(
    lead_id: uuid.UUID, principal: Reader, backend: BackendDep
) -> list[JourneyDetail]:
    """The lead's journeys: sequence and version, current step, next due time, what it awaits."""
    return await service.read_journeys(lead_id, principal, backend)


@router.post(
    "/{lead_id}/events",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "This event_id was recorded before", "model": EventRecorded},
        404: {"description": "No such lead"},
        409: {"description": "The event_id was used for something else"},
        **_problems,
    },
)
async def post_event(
    lead_id: uuid.UUID,
    body: EventIn,
    response: Response,
    principal: EventSender,
    backend: BackendDep,
) -> EventRecorded:
    """Record an event (visit, question, purchase, …) once, and tell the lead's journeys."""
    result = await service.record_event(lead_id, body, principal, backend)
    if result.duplicate:
        response.status_code = status.HTTP_200_OK
    return result
