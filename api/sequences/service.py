"""The sequence library for marketing: list, read, publish, preview."""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.deps import Backend
from api.sequences.schemas import (
    PlannedStepView,
    Preview,
    PreviewIn,
    Published,
    SampleLead,
    VersionDetail,
    VersionSummary,
)
from db.models import SequenceVersion
from db.types import utcnow
from domain import sequences
from domain.access import Actor
from domain.reference import Reference
from sequences.preview import LeadSample


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


def newest_of_each(session: Session) -> list[VersionSummary]:
    return [_summary(version) for version in sequences.library(session)]


def versions(session: Session, key: str) -> list[VersionSummary]:
    return [_summary(version) for version in sequences.versions_of(session, key)]


def version(session: Session, key: str, number: int) -> VersionDetail:
    found = sequences.version_of(session, key, number)
    return VersionDetail(**_summary(found).model_dump(), body=found.body)


async def publish(body: dict[str, object], actor: Actor, backend: Backend) -> Published:
    def store(session: Session) -> Published:
        published = sequences.publish(session, backend.reference, body, by=actor.name)
        version = published.version
        return Published(key=version.key, version=version.version, created=published.created)

    return await run_in_threadpool(backend.database.run, store)


def preview(
    session: Session, reference: Reference, key: str, body: PreviewIn, actor: Actor
) -> Preview:
    """The plan for a sample lead from `start_at` (or now); for a real lead already in the
    journey, from the journey's own start and version, with the steps it sent marked done."""
    position = None
    if body.lead_id is not None:
        sample = sequences.sample_of_lead(session, body.lead_id, actor)
        position = sequences.journey_position(session, body.lead_id, key)
    else:
        given = body.sample or SampleLead()
        sample = LeadSample(
            timezone=given.timezone,
            segment=given.segment,
            score=given.score,
            attributes=given.attributes,
            occasions=dict(given.occasions),
        )
    follows = position is not None and body.start_at is None and body.version is None
    planned = sequences.preview(
        session,
        reference,
        key,
        number=position.version if follows and position else body.version,
        sample=sample,
        enrolled_at=position.enrolled_at if follows and position else body.start_at or utcnow(),
    )
    steps = planned.steps
    if follows and position is not None:
        steps = sequences.from_position(steps, position)
    return Preview(
        key=planned.version.key,
        version=planned.version.version,
        timezone=planned.timezone,
        enrolled_at=planned.enrolled_at,
        journey_workflow_id=position.workflow_id if follows and position else None,
        steps=[
            PlannedStepView(step_id=s.step_id, at=s.at, action=s.action, detail=s.detail)
            for s in steps
        ],
    )
