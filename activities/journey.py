"""Activities journeys need besides sending: facts to branch on, enrollments, outcomes."""

from __future__ import annotations

from temporalio import activity

from activities.failures import failing_for_good
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
from db.repositories import EnrollmentRepository
from db.session import Database
from domain import enrollment
from domain.reference import Reference


class JourneyActivities:
    def __init__(self, database: Database, reference: Reference) -> None:
        self._db = database
        self._reference = reference

    @activity.defn(name=LEAD_FACTS)
    def lead_facts(self, request: LeadFactsRequest) -> LeadFacts:
        """The lead's time zone, dates, segment, score and attributes — no contact details.
        A lead that is gone fails this for good (UnknownLead): its journey ends."""
        with failing_for_good():
            facts = self._db.read(
                lambda session: enrollment.journey_facts(session, request.lead_id)
            )
        return LeadFacts.model_validate(facts, from_attributes=True)

    @activity.defn(name=PREPARE_ENROLLMENT)
    def prepare_enrollment(self, request: PrepareEnrollment) -> PreparedEnrollment | None:
        """The enrollment row for a journey another journey starts; None for an unknown key."""
        with failing_for_good():
            prepared = self._db.run(
                lambda session: enrollment.prepare(session, self._reference, **request.model_dump())
            )
        if prepared is None:
            return None
        return PreparedEnrollment.model_validate(prepared, from_attributes=True)

    @activity.defn(name=FINISH_ENROLLMENT)
    def finish_enrollment(self, request: FinishEnrollment) -> None:
        """Record how a journey ended (converted, exited or completed) and its revenue."""
        self._db.run(lambda session: EnrollmentRepository(session).finish(**request.model_dump()))
