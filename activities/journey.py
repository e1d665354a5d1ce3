"""Activities journeys need besides sending: facts to branch on, enrollments, tasks, outcomes."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.orm import Session
from temporalio import activity

from activities.payloads import (
    FINISH_ENROLLMENT,
    LEAD_FACTS,
    OPEN_TASK,
    PREPARE_ENROLLMENT,
    FinishEnrollment,
    LeadFacts,
    LeadFactsRequest,
    OpenTaskRequest,
    OpenTaskResult,
    PreparedEnrollment,
    PrepareEnrollment,
)
from db.models import Store, Task
from db.repositories import EnrollmentRepository, LeadRepository, SequenceRepository, TaskRepository
from db.session import Database
from db.types import utcnow
from sequences.model import Sequence
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

        return self._db.run(read)

    @activity.defn(name=PREPARE_ENROLLMENT)
    def prepare_enrollment(self, request: PrepareEnrollment) -> PreparedEnrollment | None:
        """The enrollment row for a journey another journey starts; None for an unknown key."""

        def prepare(session: Session) -> PreparedEnrollment | None:
            latest = SequenceRepository(session).latest(request.sequence_key)
            if latest is None:
                return None
            enrollment, pinned, created = EnrollmentRepository(session).ensure(
                request.lead_id, latest, request.workflow_id
            )
            return PreparedEnrollment(
                enrollment_id=enrollment.id,
                sequence_version=pinned.version,
                sequence=Sequence.model_validate(pinned.body),
                enrolled_at=enrollment.started_at,
                status=enrollment.status,
                created=created,
            )

        return self._db.run(prepare)

    @activity.defn(name=OPEN_TASK)
    def open_task(self, request: OpenTaskRequest) -> OpenTaskResult:
        """Create the task once per idempotency key; a retry gets the same task back."""

        def open_once(session: Session) -> OpenTaskResult:
            tasks = TaskRepository(session)
            existing = tasks.by_key(request.idempotency_key)
            if existing is not None:
                return OpenTaskResult(task_id=existing.id, created=False)
            lead = LeadRepository(session).get(request.lead_id)
            if lead is None:
                raise ValueError(f"lead {request.lead_id} does not exist")
            now = utcnow()
            task = tasks.add(
                Task(
                    id=uuid.uuid4(),
                    store_id=lead.store_id,
                    lead_id=lead.id,
                    kind=request.kind,
                    role_needed=request.role_needed,
                    assignee_id=lead.owner_id,
                    reason=request.reason,
                    priority=request.priority,
                    created_at=now,
                    sla_due_at=now + request.sla,
                    idempotency_key=request.idempotency_key,
                )
            )
            return OpenTaskResult(task_id=task.id, created=True)

        return self._db.run(open_once)

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
