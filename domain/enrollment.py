"""Enrollment: which journeys a lead belongs in, their rows, and what journeys know of a lead.

Rules:
- a capture enrolls a lead in the newest journey for its segment (or the fallback);
- a lead with an anniversary or birthday gets that occasion's yearly countdown;
- one journey per lead per sequence at a time (the workflow id is the business key); several
  sequences at once are fine (engagement and anniversary, say);
- a lead goes through a sequence again only as the sequence says (`runs_for`): after an
  unconverted run ended at least `reenter_after` ago, or, for a sequence whose
  `new_run_supersedes` (post-purchase care), once per thing that starts it (each purchase),
  the new run ending the running one as superseded. Run n > 1 has its own workflow id and row;
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
from db.models import Enrollment, Lead, SequenceVersion, Store
from db.repositories import EnrollmentRepository, LeadRepository, SequenceRepository
from db.types import utcnow
from domain.errors import UnknownLead
from domain.reference import Reference
from sequences.model import Sequence
from sequences.timing import local_date, next_month_day
from sequences.vocabulary import Occasion, WorkPurpose


@dataclass(frozen=True)
class JourneyToStart:
    """A NurtureJourney to start (or reach, if it runs): its id, lead and pinned version."""

    workflow_id: str
    lead_id: uuid.UUID
    enrollment_id: uuid.UUID
    sequence_version: int
    sequence: Sequence
    status: JourneyStatus
    run: int
    # Runs of the same sequence this one ends as superseded (their workflow ids).
    supersedes: tuple[str, ...]


@dataclass(frozen=True)
class CountdownToStart(JourneyToStart):
    """An OccasionCountdown to start, counting to `month`/`day` of `year`."""

    occasion: Occasion
    month: int
    day: int
    year: int


@dataclass(frozen=True)
class RunChoice:
    """Which run of a sequence a request lands in: an existing one, or a new run `number`
    (superseding `supersedes`)."""

    existing: Enrollment | None
    number: int
    supersedes: tuple[str, ...] = ()


def choose_run(
    session: Session,
    sequence: Sequence,
    lead_id: uuid.UUID,
    *,
    at: datetime,
    started_by: str | None,
) -> RunChoice:
    """The run a request for the lead's journey in `sequence` lands in (see the module's rules).

    `started_by` names what asks (e.g. `purchase:<id>`): a retry of it finds its own run.
    """
    runs = EnrollmentRepository(session).runs(lead_id, sequence.key)
    if not runs:
        return RunChoice(existing=None, number=1)
    if started_by is not None:
        mine = next((run for run in runs if run.started_by == started_by), None)
        if mine is not None:
            return RunChoice(existing=mine, number=mine.run)
    latest = runs[-1]
    if sequence.reenter_after is None:
        return RunChoice(existing=latest, number=latest.run)
    if latest.status is JourneyStatus.ACTIVE:
        if sequence.new_run_supersedes and started_by is not None:
            return RunChoice(existing=None, number=latest.run + 1, supersedes=(latest.workflow_id,))
        return RunChoice(existing=latest, number=latest.run)
    if latest.status is JourneyStatus.CONVERTED and not sequence.new_run_supersedes:
        return RunChoice(existing=latest, number=latest.run)  # it did its work
    ended = latest.ended_at or latest.started_at
    if at - ended < sequence.reenter_after.as_timedelta():
        return RunChoice(existing=latest, number=latest.run)
    return RunChoice(existing=None, number=latest.run + 1)


def plan_journey(
    session: Session,
    reference: Reference,
    lead: Lead,
    version: SequenceVersion,
    *,
    new_lead: bool = False,
    started_by: str | None = None,
) -> JourneyToStart:
    """Ensure the lead's enrollment in `version`'s sequence: the run it is in (a running one
    keeps its version), or a new run where the sequence allows one.

    `new_lead`: the lead was created in this unit of work (it has no enrollments yet).
    `started_by`: what asks for it (a purchase), when each such thing gets its own run.
    """
    if new_lead:
        choice = RunChoice(existing=None, number=1)
    else:
        choice = choose_run(
            session, reference.sequence(version), lead.id, at=utcnow(), started_by=started_by
        )
    return _planned(
        JourneyToStart,
        session,
        reference,
        lead,
        version,
        journey_workflow_id(lead.id, version.key, choice.number),
        new_lead=new_lead,
        run=choice.number,
        supersedes=choice.supersedes,
        started_by=started_by,
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
    run: int = 1,
    supersedes: tuple[str, ...] = (),
    started_by: str | None = None,
    **extra: Any,
) -> Planned:
    """Ensure the enrollment under `workflow_id` (on `version` if new; a running or ended one
    keeps its version) and plan its workflow."""
    enrollment, pinned, _ = EnrollmentRepository(session).ensure(
        lead.id, version, workflow_id, new_lead=new_lead, run=run, started_by=started_by
    )
    return kind(
        workflow_id=workflow_id,
        lead_id=lead.id,
        enrollment_id=enrollment.id,
        sequence_version=pinned.version,
        sequence=reference.sequence(pinned),
        status=enrollment.status,
        run=enrollment.run,
        supersedes=supersedes,
        **extra,
    )


def plan_journey_by_key(
    session: Session, reference: Reference, lead: Lead, key: str, *, started_by: str | None = None
) -> JourneyToStart | None:
    """The journey in the newest version of the sequence `key`; None if it is not published."""
    version = SequenceRepository(session).latest(key)
    if version is None:
        return None
    return plan_journey(session, reference, lead, version, started_by=started_by)


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


def superseded_by(
    session: Session, reference: Reference, lead_id: uuid.UUID, new: Sequence
) -> list[str]:
    """The lead's running segment journeys that the new segment's journey `new` takes over
    (their workflow ids): every one of another segment's sequence, unless either sequence
    declares the other in `runs_beside`, and the placeholder that `gives_way_to_segment`
    (the generic welcome). Occasion countdowns always run beside, so does service work (a
    custom order in production is not a segment's to end), and the other journeys no segment
    names (post-purchase care, a festival campaign) are no segment's to end either."""
    sequences = SequenceRepository(session)
    ended = []
    for enrollment in EnrollmentRepository(session).active_for_lead(lead_id):
        if enrollment.sequence_key == new.key:
            continue
        version = sequences.get(enrollment.sequence_version_id)
        if version is None:
            continue
        old = reference.sequence(version)
        if old.occasion is not None or new.occasion is not None:
            continue
        if old.segment is None and not (old.gives_way_to_segment and new.segment is not None):
            continue
        if old.purpose is WorkPurpose.SERVICE:
            continue
        if new.key in old.runs_beside or old.key in new.runs_beside:
            continue
        ended.append(enrollment.workflow_id)
    return sorted(ended)


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
    sequence's newest version; None for a sequence that is not published. `workflow_id` is
    the first run's; a later run (where the sequence allows re-entry) gets its own."""
    if LeadRepository(session).get(lead_id) is None:
        raise UnknownLead(lead_id)
    latest = SequenceRepository(session).latest(sequence_key)
    if latest is None:
        return None
    choice = choose_run(
        session,
        reference.sequence(latest),
        lead_id,
        at=requested_at or utcnow(),
        started_by=None,
    )
    if choice.number != 1:
        workflow_id = journey_workflow_id(lead_id, sequence_key, choice.number)
    enrollment, pinned, created = EnrollmentRepository(session).ensure(
        lead_id, latest, workflow_id, started_at=requested_at, run=choice.number
    )
    return Prepared(
        workflow_id=workflow_id,
        lead_id=lead_id,
        enrollment_id=enrollment.id,
        sequence_version=pinned.version,
        sequence=reference.sequence(pinned),
        status=enrollment.status,
        run=enrollment.run,
        supersedes=choice.supersedes,
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
