"""The weekly reports sent: one row per branch and ISO week, claimed before sending."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update

from db.models import WeeklyReport
from db.repositories.base import Repository, insert_ignoring_conflicts
from db.types import utcnow


class WeeklyReportRepository(Repository[WeeklyReport]):
    model = WeeklyReport

    def claim(self, store_id: uuid.UUID, iso_week: str) -> WeeklyReport:
        """The branch's row for the week, inserted unless it exists (INSERT … ON CONFLICT DO
        NOTHING, so two runs of the same week never both claim it)."""
        self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                WeeklyReport,
                {
                    "id": uuid.uuid4(),
                    "store_id": store_id,
                    "iso_week": iso_week,
                    "status": "claimed",
                    "recipients": 0,
                    "created_at": utcnow(),
                },
            )
        )
        return self.session.scalars(
            select(WeeklyReport)
            .where(WeeklyReport.store_id == store_id, WeeklyReport.iso_week == iso_week)
            .with_for_update()
        ).one()

    def start_sending(self, report_id: uuid.UUID) -> bool:
        """Move the row from `claimed` to `sending`, atomically: True for the one caller that
        did it (only that one calls the provider)."""
        moved = self.session.execute(
            update(WeeklyReport)
            .where(WeeklyReport.id == report_id, WeeklyReport.status == "claimed")
            .values(status="sending")
        )
        return bool(getattr(moved, "rowcount", 0) == 1)

    def mark(
        self,
        report_id: uuid.UUID,
        status: str,
        *,
        recipients: int | None = None,
        provider: str | None = None,
        message_id: str | None = None,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> WeeklyReport:
        report = self.session.get_one(WeeklyReport, report_id)
        report.status = status
        if recipients is not None:
            report.recipients = recipients
        report.provider = provider or report.provider
        report.provider_message_id = message_id or report.provider_message_id
        report.reason = reason
        report.sent_at = at or report.sent_at
        self.session.flush()
        return report
