"""Enrollment: which journeys a lead belongs in, their rows, and what journeys know of a lead.

Rules:
- a capture enrolls a lead in the newest journey for its segment (or the fallback);
- a lead with an anniversary or birthday gets that occasion's yearly countdown;
- one journey per lead per sequence (the workflow id is the business key); several sequences
  at once are fine (engagement and anniversary, say);
- a running or finished enrollment keeps the version it started with.

Planning runs in the caller's unit of work and returns plain plans; the door starts the
workflows once the unit of work has committed (see `domain.effects`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from core.vocabulary import JourneyStatus
from core.workflow_ids import journey_workflow_id, occasion_workflow_id
from db.models import Lead, SequenceVersion, Store
from db.repositories import EnrollmentRepository, LeadRepository, SequenceRepository
from domain.errors import UnknownLead
from domain.reference import Reference
from sequences.model import Sequence
from sequences.timing import local_date, next_month_day
from sequences.vocabulary import Occasion


@dataclass(frozen=True)
class JourneyToStart:
    """A NurtureJourney to start (or reach, if it runs): its id, lead and pinned version."""

    workflow_id: str
    lead_id: uuid.UUID
    enrollment_id: uuid.UUID
    sequence_version: int
    sequence: Sequence
    status: JourneyStatus


@dataclass(frozen=True)
class CountdownToStart(JourneyToStart):
    """An OccasionCountdown to start, counting to `month`/`day` of `year`."""

    occasion: Occasion
    month: int
    day: int
    year: int


def plan_journey(
    session: Session,
    reference: Reference,
    lead: Lead,
    version: SequenceVersion,
    *,
    new_lead: bool = False,
) -> JourneyToStart:
    """Ensure the lead's enrollment in `version`'s sequence; a running one keeps its version.

    `new_lead`: the lead was created in this unit of work (it has no enrollments yet).
    """
    return _planned(
        JourneyToStart,
        session,
        reference,
        lead,
        version,
        journey_workflow_id(lead.id, version.key),
        new_lead=new_lead,
    )


Planned = TypeVar("Planned", bound=JourneyToStart)


def _planned(
    kind: type[Planned],
    session: Session,
    reference: Reference,
    lead: Lead,
    version: SequenceVersion,
    workflow_id: str,
    *,
    new_lead: bool,
    **extra: Any,
) -> Planned:
    """Ensure the enrollment under `workflow_id` (on `version` if new; a running or ended one
    keeps its version) and plan its workflow."""
    enrollment, pinned, _ = EnrollmentRepository(session).ensure(
        lead.id, version, workflow_id, new_lead=new_lead
    )
    return kind(
        workflow_id=workflow_id,
        lead_id=lead.id,
        enrollment_id=enrollment.id,
        sequence_version=pinned.version,
        sequence=reference.sequence(pinned),
        status=enrollment.status,
        **extra,
    )


def plan_journey_by_key(
    session: Session, reference: Reference, lead: Lead, key: str
) -> JourneyToStart | None:
    """The journey in the newest version of the sequence `key`; None if it is not published."""
    version = SequenceRepository(session).latest(key)
    return plan_journey(session, reference, lead, version) if version else None


def plan_countdowns(
    session: Session,
    reference: Reference,
    lead: Lead,
    *,
    new_lead: bool = False,
    only: Occasion | None = None,
) -> list[CountdownToStart]:
    """A countdown for each of the lead's dates (or `only` that one) with a published
    countdown sequence. `new_lead`: the lead was created in this unit of work."""
    if not lead.occasion_dates:
        return []
    countdowns = {
        Occasion(version.body["occasion"]): version
        for version in SequenceRepository(session).latest_of_each()
        if version.body.get("occasion")
    }
    today = local_date(lead.updated_at, lead_timezone(session, lead))
    plans = []
    for kind, iso_day in sorted(lead.occasion_dates.items()):
        occasion = Occasion(kind) if kind in Occasion.__members__.values() else None
        version = countdowns.get(occasion) if occasion is not None else None
        if version is None or occasion is None or (only is not None and occasion != only):
            continue
        day = date.fromisoformat(iso_day)
        plans.append(
            _planned(
                CountdownToStart,
                session,
                reference,
                lead,
                version,
                occasion_workflow_id(lead.id, occasion),
                new_lead=new_lead,
                occasion=occasion,
                month=day.month,
                day=day.day,
                year=next_month_day(day.month, day.day, today).year,
            )
        )
    return plans


def active_journeys(session: Session, lead_id: uuid.UUID) -> list[str]:
    """The workflow ids of the lead's running journeys and countdowns."""
    return [e.workflow_id for e in EnrollmentRepository(session).active_for_lead(lead_id)]


@dataclass(frozen=True)
class Prepared(JourneyToStart):
    """A journey another workflow starts (or that already runs): its enrollment row's start
    time, and whether the row is new."""

    enrolled_at: datetime
    created: bool


def prepare(
    session: Session,
    reference: Reference,
    *,
    lead_id: uuid.UUID,
    sequence_key: str,
    workflow_id: str,
    requested_at: datetime | None,
) -> Prepared | None:
    """Ensure the enrollment a journey's `enroll` step (or a segment change) asks for, on the
    sequence's newest version; None for a sequence that is not published."""
    if LeadRepository(session).get(lead_id) is None:
        raise UnknownLead(lead_id)
    latest = SequenceRepository(session).latest(sequence_key)
    if latest is None:
        return None
    enrollment, pinned, created = EnrollmentRepository(session).ensure(
        lead_id, latest, workflow_id, started_at=requested_at
    )
    return Prepared(
        workflow_id=workflow_id,
        lead_id=lead_id,
        enrollment_id=enrollment.id,
        sequence_version=pinned.version,
        sequence=reference.sequence(pinned),
        status=enrollment.status,
        enrolled_at=enrollment.started_at,
        created=created,
    )


@dataclass(frozen=True)
class JourneyFacts:
    """What a journey may branch on and time by. No names, phones or emails."""

    timezone: str
    segment: str | None
    score: int | None
    attributes: dict[str, str]
    occasions: dict[Occasion, date]


def lead_timezone(session: Session, lead: Lead) -> str:
    """The lead's time zone, else its store's."""
    return lead.timezone or session.get_one(Store, lead.store_id).timezone


def lead_occasions(lead: Lead) -> dict[Occasion, date]:
    """The lead's dates a journey can count to (unknown kinds are left out)."""
    return {
        Occasion(kind): date.fromisoformat(day)
        for kind, day in lead.occasion_dates.items()
        if kind in Occasion.__members__.values()
    }


def journey_facts(session: Session, lead_id: uuid.UUID) -> JourneyFacts:
    """The lead's time zone, dates, segment, score and attributes; UnknownLead if it is gone."""
    lead = LeadRepository(session).get(lead_id)
    if lead is None:
        raise UnknownLead(lead_id)
    attributes = {key: str(value) for key, value in lead.attributes.items()}
    if lead.budget_band:
        attributes.setdefault("budget_band", lead.budget_band)
    return JourneyFacts(
        timezone=lead_timezone(session, lead),
        segment=lead.segment,
        score=lead.score,
        attributes=attributes,
        occasions=lead_occasions(lead),
    )
