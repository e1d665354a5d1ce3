"""Activities journeys need besides sending: facts to branch on, enrollments, tasks, outcomes."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session
from temporalio import activity

from activities.payloads import (
    FINISH_ENROLLMENT,
    LEAD_FACTS,
    PREPARE_ENROLLMENT,
    FinishEnrollment,
    LeadFacts,
    LeadFactsRequest,
    PreparedEnrollment,
    PrepareEnrollment,
)
from db.library import parsed_sequence
from db.models import Store
from db.repositories import EnrollmentRepository, LeadRepository, SequenceRepository
from db.session import Database
from sequences.vocabulary import Occasion


class JourneyActivities:
    def __init__(self, database: Database) -> None:
        self._db = database

    @activity.defn(name=LEAD_FACTS)
    def lead_facts(self, request: LeadFactsRequest) -> LeadFacts:
        """The lead's time zone, dates, segment, score and attributes — no contact details."""

        def read(session: Session) -> LeadFacts:
            lead = LeadRepository(session).get(request.lead_id)
            if lead is None:
                raise ValueError(f"lead {request.lead_id} does not exist")
            timezone = lead.timezone or session.get_one(Store, lead.store_id).timezone
            attributes = {key: str(value) for key, value in lead.attributes.items()}
            if lead.budget_band:
                attributes.setdefault("budget_band", lead.budget_band)
            occasions = {
                Occasion(kind): date.fromisoformat(day)
                for kind, day in lead.occasion_dates.items()
                if kind in Occasion.__members__.values()
            }
            return LeadFacts(
                timezone=timezone,
                segment=lead.segment,
                score=lead.score,
                attributes=attributes,
                occasions=occasions,
            )

        return self._db.read(read)

    @activity.defn(name=PREPARE_ENROLLMENT)
    def prepare_enrollment(self, request: PrepareEnrollment) -> PreparedEnrollment | None:
        """The enrollment row for a journey another journey starts; None for an unknown key."""

        def prepare(session: Session) -> PreparedEnrollment | None:
            latest = SequenceRepository(session).latest(request.sequence_key)
            if latest is None:
                return None
            enrollment, pinned, created = EnrollmentRepository(session).ensure(
                request.lead_id, latest, request.workflow_id, started_at=request.requested_at
            )
            return PreparedEnrollment(
                enrollment_id=enrollment.id,
                sequence_version=pinned.version,
                sequence=parsed_sequence(pinned),
                enrolled_at=enrollment.started_at,
                status=enrollment.status,
                created=created,
            )

        return self._db.run(prepare)

    @activity.defn(name=FINISH_ENROLLMENT)
    def finish_enrollment(self, request: FinishEnrollment) -> None:
        """Record how a journey ended (converted, exited or completed) and its revenue."""
        self._db.run(
            lambda session: EnrollmentRepository(session).finish(
                request.workflow_id,
                status=request.status,
                outcome=request.outcome,
                revenue_minor=request.revenue_minor,
                currency=request.currency,
            )
        )
