"""Routes for marketing staff: sequences are published as immutable versions.

Running journeys keep the version they started with; new enrollments take the latest.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.auth import Principal, require_roles
from api.deps import DatabaseDep
from api.errors import conflict, field_error, forbidden, not_found
from api.sequences.schemas import (
    PlannedStepView,
    Preview,
    PreviewIn,
    Published,
    SampleLead,
    VersionDetail,
    VersionSummary,
)
from core.vocabulary import ApiRole
from db.models import SequenceVersion, Store
from db.repositories import LeadRepository, SequenceRepository
from db.types import MAX_INTEGER, utcnow
from sequences.loader import SequenceError, parse_sequence
from sequences.model import Sequence
from sequences.preview import LeadSample, plan
from sequences.timing import local_date, next_month_day
from sequences.vocabulary import Occasion

router = APIRouter(prefix="/v1/sequences", tags=["sequences"])

Marketer = Annotated[Principal, Depends(require_roles(ApiRole.MARKETING))]


def _summary(version: SequenceVersion) -> VersionSummary:
    return VersionSummary(
        key=version.key,
        version=version.version,
        name=version.name,
        segment=version.body.get("segment"),
        occasion=version.body.get("occasion"),
        published_by=version.published_by,
        published_at=version.published_at,
    )


def _version(session: Session, key: str, number: int | None) -> SequenceVersion:
    repository = SequenceRepository(session)
    found = repository.version(key, number) if number else repository.latest(key)
    if found is None:
        raise not_found(f"sequence {key!r}" + (f" version {number}" if number else ""))
    return found


@router.get("")
async def list_sequences(principal: Marketer, database: DatabaseDep) -> list[VersionSummary]:
    """Every sequence at its latest version."""
    return await run_in_threadpool(
        database.read,
        lambda s: [_summary(v) for v in SequenceRepository(s).latest_of_each()],
    )


@router.get("/{key}/versions", responses={404: {"description": "No such sequence"}})
async def list_versions(
    key: str, principal: Marketer, database: DatabaseDep
) -> list[VersionSummary]:
    """All published versions of one sequence, oldest first."""

    def read(session: Session) -> list[VersionSummary]:
        versions = SequenceRepository(session).versions(key)
        if not versions:
            raise not_found(f"sequence {key!r}")
        return [_summary(version) for version in versions]

    return await run_in_threadpool(database.read, read)


@router.get("/{key}/versions/{number}", responses={404: {"description": "No such version"}})
async def get_version(
    key: str,
    number: Annotated[int, Path(ge=1, le=MAX_INTEGER)],
    principal: Marketer,
    database: DatabaseDep,
) -> VersionDetail:
    """One version, with the body journeys started on it run."""

    def read(session: Session) -> VersionDetail:
        version = _version(session, key, number)
        return VersionDetail(**_summary(version).model_dump(), body=version.body)

    return await run_in_threadpool(database.read, read)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Same as the latest version; nothing new", "model": Published},
        422: {"description": "The sequence is invalid: the message names the step and field"},
    },
)
async def publish(
    body: Annotated[dict[str, Any], Body(description="A sequence, as in sequences/library")],
    response: Response,
    principal: Marketer,
    database: DatabaseDep,
) -> Published:
    """Validate and publish a sequence as a new immutable version."""
    try:
        sequence = parse_sequence(body, "sequence")
    except SequenceError as error:
        raise field_error("sequence", str(error), where="body") from error

    def store(session: Session) -> Published:
        repository = SequenceRepository(session)
        unknown = sorted(key for key in sequence.enrolls() if repository.latest(key) is None)
        if unknown and set(unknown) != {sequence.key}:
            raise field_error(
                "steps", f"enroll names unpublished sequence(s): {', '.join(unknown)}"
            )
        latest = repository.latest(sequence.key)
        if latest is not None and bool(latest.body.get("occasion")) != bool(sequence.occasion):
            raise conflict(
                f"{sequence.key!r} is published as a "
                f"{'countdown' if latest.body.get('occasion') else 'journey'}; "
                "a new version cannot change that (use a new key)"
            )
        version = repository.publish(
            sequence.key,
            sequence.name,
            sequence.model_dump(mode="json", by_alias=True),
            by=principal.name,
        )
        return Published(key=version.key, version=version.version, created=version != latest)

    result = await run_in_threadpool(database.run, store)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return result


@router.post("/{key}/preview", responses={404: {"description": "No such sequence or lead"}})
async def preview(key: str, body: PreviewIn, principal: Marketer, database: DatabaseDep) -> Preview:
    """The dated timeline of messages and tasks a lead (or a sample lead) would get."""
    return await run_in_threadpool(database.read, lambda s: _preview(s, key, body, principal))


def _preview(session: Session, key: str, body: PreviewIn, principal: Principal) -> Preview:
    version = _version(session, key, body.version)
    sample = _sample(session, body, principal)
    enrolled_at = body.start_at or utcnow()
    occasions = dict(sample.occasions)
    sequence = Sequence.model_validate(version.body)
    if sequence.occasion is not None and sequence.occasion in occasions:
        # A countdown counts to the next time the date comes round, as the workflow does.
        day = occasions[sequence.occasion]
        occasions[sequence.occasion] = next_month_day(
            day.month, day.day, local_date(enrolled_at, sample.timezone)
        )
    steps = plan(
        sequence,
        LeadSample(
            timezone=sample.timezone,
            segment=sample.segment,
            score=sample.score,
            attributes=sample.attributes,
            occasions=occasions,
        ),
        enrolled_at,
    )
    return Preview(
        key=version.key,
        version=version.version,
        timezone=sample.timezone,
        enrolled_at=enrolled_at,
        steps=[
            PlannedStepView(step_id=s.step_id, at=s.at, action=s.action, detail=s.detail)
            for s in steps
        ],
    )


def _sample(session: Session, body: PreviewIn, principal: Principal) -> SampleLead:
    if body.lead_id is None:
        return body.sample or SampleLead()
    lead = LeadRepository(session).get(body.lead_id)
    if lead is None:
        raise not_found(f"lead {body.lead_id}")
    if not principal.may_access_store(lead.store_id):
        raise forbidden("this lead belongs to a store your key cannot see")
    return SampleLead(
        timezone=lead.timezone or session.get_one(Store, lead.store_id).timezone,
        segment=lead.segment,
        score=lead.score,
        attributes={k: str(v) for k, v in lead.attributes.items()},
        occasions={
            Occasion(kind): date.fromisoformat(day)
            for kind, day in lead.occasion_dates.items()
            if kind in Occasion.__members__.values()
        },
    )
