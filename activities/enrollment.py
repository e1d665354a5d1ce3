"""Bookkeeping activities for journeys: writing their outcome back to the enrollment row."""

from __future__ import annotations

from temporalio import activity

from activities.payloads import FINISH_ENROLLMENT, FinishEnrollment
from db.repositories import EnrollmentRepository
from db.session import Database


class EnrollmentActivities:
    def __init__(self, database: Database) -> None:
        self._db = database

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
