"""Enrollments: a lead in one sequence version, run by one workflow."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from collections.abc import Sequence as Seq
from datetime import datetime

from sqlalchemy import func, select, update

from core.vocabulary import JourneyStatus, TouchStatus
from db.instants import recount
from db.models import Enrollment, SequenceVersion, Touch
from db.repositories.base import Repository
from db.types import utcnow

# A message in one of these states reached (or went to) the lead: a touch, for attribution.
# The outbox counts: with no provider configured it is where every message goes, and the
# journey that wrote it is still the one that last spoke to the lead.
REACHED = (
    TouchStatus.SENT,
    TouchStatus.OUTBOX,
    TouchStatus.DELIVERED,
    TouchStatus.OPENED,
    TouchStatus.CLICKED,
    TouchStatus.REPLIED,
)


class EnrollmentRepository(Repository[Enrollment]):
    model = Enrollment

    def by_workflow_id(self, workflow_id: str) -> Enrollment | None:
        return self.session.scalars(
            select(Enrollment).where(Enrollment.workflow_id == workflow_id)
        ).first()

    def ensure(
        self,
        lead_id: uuid.UUID,
        version: SequenceVersion,
        workflow_id: str,
        *,
        started_at: datetime | None = None,
        new_lead: bool = False,
        run: int = 1,
        started_by: str | None = None,
    ) -> tuple[Enrollment, SequenceVersion, bool]:
        """The lead's enrollment under `workflow_id`, created on the latest version if new.

        Returns (enrollment, the version it is pinned to, created). A running or finished
        enrollment keeps the version it started with. `new_lead`: the lead was created in this
        unit of work, so it has no enrollment to look for, and the new one is written with the
        rest of the unit of work (at its next flush).
        """
        existing = None if new_lead else self.by_workflow_id(workflow_id)
        if existing is not None:
            pinned = self.session.get_one(SequenceVersion, existing.sequence_version_id)
            return existing, pinned, False
        enrollment = self.add(
            Enrollment(
                id=uuid.uuid4(),  # set here: the caller uses it before any flush
                lead_id=lead_id,
                sequence_version_id=version.id,
                sequence_key=version.key,
                workflow_id=workflow_id,
                status=JourneyStatus.ACTIVE,
                started_at=started_at or utcnow(),
                run=run,
                started_by=started_by,
            ),
            flush=not new_lead,
        )
        return enrollment, version, True

    def runs(self, lead_id: uuid.UUID, sequence_key: str) -> Seq[Enrollment]:
        """The lead's runs through one sequence, first run first."""
        return self.session.scalars(
            select(Enrollment)
            .where(Enrollment.lead_id == lead_id, Enrollment.sequence_key == sequence_key)
            .order_by(Enrollment.run)
        ).all()

    def last_reached(
        self, enrollment_ids: Seq[uuid.UUID], *, since: datetime, until: datetime
    ) -> dict[uuid.UUID, datetime]:
        """Each enrollment's latest message that went out (not held back, suppressed or
        failed) between `since` and `until`."""
        if not enrollment_ids:
            return {}
        rows = self.session.execute(
            select(Touch.enrollment_id, func.max(Touch.created_at))
            .where(
                Touch.enrollment_id.in_(enrollment_ids),
                Touch.status.in_(REACHED),
                Touch.created_at >= since,
                Touch.created_at <= until,
            )
            .group_by(Touch.enrollment_id)
        ).all()
        return {enrollment_id: at for enrollment_id, at in rows if enrollment_id is not None}

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Enrollment]:
        return self.session.scalars(
            select(Enrollment).where(Enrollment.lead_id == lead_id).order_by(Enrollment.started_at)
        ).all()

    def for_lead_with_versions(self, lead_id: uuid.UUID) -> list[tuple[Enrollment, int]]:
        """The lead's enrollments and each one's sequence version number, in one query
        (never the versions' bodies, which a lead's view does not show)."""
        rows = self.session.execute(
            select(Enrollment, SequenceVersion.version)
            .join(SequenceVersion, SequenceVersion.id == Enrollment.sequence_version_id)
            .where(Enrollment.lead_id == lead_id)
            .order_by(Enrollment.started_at)
        ).all()
        return [(enrollment, version) for enrollment, version in rows]

    def active_for_lead(self, lead_id: uuid.UUID) -> Seq[Enrollment]:
        return self.session.scalars(
            select(Enrollment).where(
                Enrollment.lead_id == lead_id, Enrollment.status == JourneyStatus.ACTIVE
            )
        ).all()

    def active_for_leads(
        self, lead_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Enrollment]]:
        """Each of these leads' running enrollments (every lead named, in one query)."""
        found: dict[uuid.UUID, list[Enrollment]] = {lead_id: [] for lead_id in lead_ids}
        if found:
            for enrollment in self.session.scalars(
                select(Enrollment).where(
                    Enrollment.lead_id.in_(list(found)), Enrollment.status == JourneyStatus.ACTIVE
                )
            ):
                found[enrollment.lead_id].append(enrollment)
        return found

    def finish(
        self,
        *,
        workflow_id: str,
        status: JourneyStatus,
        outcome: str | None,
        revenue_minor: int | None,
        currency: str | None,
    ) -> None:
        """Record how a journey ended (converted, exited, completed or superseded) and its
        revenue. Revenue a sale's attribution wrote first (and a refund may have reduced)
        stands: the journey only fills it in where none was credited."""
        ended = self.session.execute(
            update(Enrollment)
            .where(Enrollment.workflow_id == workflow_id)
            .values(
                status=status,
                outcome=outcome,
                revenue_minor=func.coalesce(Enrollment.revenue_minor, revenue_minor),
                currency=func.coalesce(Enrollment.currency, currency),
                ended_at=utcnow(),
            )
            .returning(Enrollment.lead_id)
        )
        # past the flush that keeps leads' instants: is the lead still in a journey, since when
        recount(self.session.connection(), ended.scalars().all())
