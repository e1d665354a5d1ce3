"""Routes for marketing staff: sequences are published as immutable versions.

Running journeys keep the version they started with; new enrollments take the latest.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response, status
from fastapi.concurrency import run_in_threadpool

from api.auth import require_roles
from api.deps import BackendDep, DatabaseDep
from api.idempotency import IdempotentRoute
from api.sequences import service
from api.sequences.schemas import Preview, PreviewIn, Published, VersionDetail, VersionSummary
from core.vocabulary import ApiRole
from db.types import MAX_INTEGER
from domain.access import Actor

router = APIRouter(prefix="/v1/sequences", tags=["sequences"], route_class=IdempotentRoute)

Marketer = Annotated[Actor, Depends(require_roles(ApiRole.MARKETING))]


@router.get("")
async def list_sequences(principal: Marketer, database: DatabaseDep) -> list[VersionSummary]:
    """Every sequence at its latest version."""
    return await run_in_threadpool(database.read, service.newest_of_each)


@router.get("/{key}/versions", responses={404: {"description": "No such sequence"}})
async def list_versions(
    key: str, principal: Marketer, database: DatabaseDep
) -> list[VersionSummary]:
    """All published versions of one sequence, oldest first."""
    return await run_in_threadpool(database.read, lambda session: service.versions(session, key))


@router.get("/{key}/versions/{number}", responses={404: {"description": "No such version"}})
async def get_version(
    key: str,
    number: Annotated[int, Path(ge=1, le=MAX_INTEGER)],
    principal: Marketer,
    database: DatabaseDep,
) -> VersionDetail:
    """One version, with the body journeys started on it run."""
    return await run_in_threadpool(
        database.read, lambda session: service.version(session, key, number)
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Same as the latest version; nothing new", "model": Published},
        409: {"description": "The key is published as the other kind (journey or countdown)"},
        422: {"description": "The sequence is invalid: the message names the step and field"},
    },
)
async def publish(
    body: Annotated[dict[str, Any], Body(description="A sequence, as in sequences/library")],
    response: Response,
    principal: Marketer,
    backend: BackendDep,
) -> Published:
    """Validate and publish a sequence as a new immutable version."""
    result = await service.publish(body, principal, backend)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return result


@router.post("/{key}/preview", responses={404: {"description": "No such sequence or lead"}})
async def preview(key: str, body: PreviewIn, principal: Marketer, backend: BackendDep) -> Preview:
    """The dated timeline of messages and tasks a lead (or a sample lead) would get."""
    return await run_in_threadpool(
        backend.database.read,
        lambda session: service.preview(session, backend.reference, key, body, principal),
    )
