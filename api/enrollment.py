"""Which journeys a lead belongs in, and starting them: shared by capture and the POS.

The database part (choose the sequence, ensure the enrollment row) runs inside the caller's
unit of work and returns plain plans; `launch` then makes the Temporal calls. Rules:
- the capture enrolls a lead in the newest sequence for its segment (or the fallback);
- a lead with an anniversary or birthday gets that occasion's yearly countdown;
- one journey per lead per sequence (the workflow id is the business key); several
  sequences at once are fine (engagement and anniversary, say).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session
from temporalio.client import Client

from api import journeys
from core.vocabulary import JourneyStatus
from core.workflow_ids import journey_workflow_id, occasion_workflow_id
from db.library import parsed_sequence
from db.models import Lead, SequenceVersion, Store
from db.repositories import EnrollmentRepository, SequenceRepository
from sequences.timing import local_date, next_month_day
from sequences.vocabulary import Occasion
from workflows.journey_model import CountdownInput, JourneyEvent, JourneyInput


@dataclass(frozen=True)
class JourneyStart:
    workflow_id: str
    start: JourneyInput
    status: JourneyStatus


@dataclass(frozen=True)
class CountdownStart:
    workflow_id: str
    start: CountdownInput
    status: JourneyStatus


@dataclass
class EnrollmentPlan:
    journeys: list[JourneyStart] = field(default_factory=list)
    countdowns: list[CountdownStart] = field(default_factory=list)


def plan_journey(
    session: Session, lead: Lead, version: SequenceVersion, *, new_lead: bool = False
) -> JourneyStart:
    """Ensure the lead's enrollment in `version`'s sequence; a running one keeps its version.

    `new_lead`: the lead was created in this unit of work (it has no enrollments yet).
    """
    workflow_id = journey_workflow_id(lead.id, version.key)
    enrollment, pinned, _ = EnrollmentRepository(session).ensure(
        lead.id, version, workflow_id, new_lead=new_lead
    )
    start = JourneyInput(
        lead_id=lead.id,
        enrollment_id=enrollment.id,
        sequence_version=pinned.version,
        sequence=parsed_sequence(pinned),
        enrolled_at=None,  # the journey counts from its own start
    )
    return JourneyStart(workflow_id, start, enrollment.status)


def plan_journey_by_key(session: Session, lead: Lead, key: str) -> JourneyStart | None:
    version = SequenceRepository(session).latest(key)
    return plan_journey(session, lead, version) if version else None


def plan_countdowns(
    session: Session, lead: Lead, *, new_lead: bool = False
) -> list[CountdownStart]:
    """A countdown for each of the lead's dates that has a published countdown sequence.

    `new_lead`: the lead was created in this unit of work (it has no enrollments yet).
    """
    if not lead.occasion_dates:
        return []
    countdowns = {
        Occasion(version.body["occasion"]): version
        for version in SequenceRepository(session).latest_of_each()
        if version.body.get("occasion")
    }
    timezone = lead.timezone or session.get_one(Store, lead.store_id).timezone
    today = local_date(lead.updated_at, timezone)
    plans = []
    for kind, iso_day in sorted(lead.occasion_dates.items()):
        version = countdowns.get(Occasion(kind)) if kind in Occasion.__members__.values() else None
        if version is None:
            continue
        day = date.fromisoformat(iso_day)
        workflow_id = occasion_workflow_id(lead.id, Occasion(kind))
        enrollment, pinned, _ = EnrollmentRepository(session).ensure(
            lead.id, version, workflow_id, new_lead=new_lead
        )
        upcoming = next_month_day(day.month, day.day, today)
        start = CountdownInput(
            lead_id=lead.id,
            enrollment_id=enrollment.id,
            sequence_version=pinned.version,
            sequence=parsed_sequence(pinned),
            occasion=Occasion(kind),
            month=day.month,
            day=day.day,
            year=upcoming.year,
            enrolled_at=None,
        )
        plans.append(CountdownStart(workflow_id, start, enrollment.status))
    return plans


async def launch(
    client: Client, task_queue: str, plan: EnrollmentPlan, event: JourneyEvent | None = None
) -> dict[str, bool]:
    """Start (or reach) every planned workflow; maps workflow id → running now."""
    running: dict[str, bool] = {}
    for journey in plan.journeys:
        running[journey.workflow_id] = await journeys.enroll(
            client,
            task_queue=task_queue,
            workflow_id=journey.workflow_id,
            start=journey.start,
            event=event,
        )
    for countdown in plan.countdowns:
        running[countdown.workflow_id] = await journeys.start_countdown(
            client, task_queue=task_queue, workflow_id=countdown.workflow_id, start=countdown.start
        )
    return running
