"""The owner's weekly email: claim the branch's week, render it, send it once.

Exactly once per branch and ISO week, under retries and repeated runs: the `weekly_report`
row is claimed first; a row already `sent` ends the attempt; a row left `sending` (the
provider was called and no answer came back) is recorded as `outcome_unknown`, never sent
again. A transient refusal hands the claim back and fails the attempt so Temporal retries.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payloads import (
    PROVIDER_UNAVAILABLE,
    SEND_WEEKLY_REPORT,
    Failure,
    WeeklyReportRequest,
    WeeklyReportResult,
)
from db.models import Store, WeeklyReport
from db.repositories import StaffAccountRepository, WeeklyReportRepository
from db.session import Database
from db.types import utcnow
from insight.weekly_report import Report, weekly_report
from insight.window import iso_week, last_full_week
from providers.base import (
    Attachment,
    OutgoingMessage,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderReceipt,
    Registry,
)
from sequences.vocabulary import Channel, Purpose

log = logging.getLogger(__name__)


class WeeklyReportActivities:
    def __init__(self, database: Database, providers: Registry) -> None:
        self._db = database
        self._providers = providers

    def _claim(self, session: Session, request: WeeklyReportRequest) -> tuple[WeeklyReport, str]:
        store = session.get(Store, request.store_id)
        if store is None:
            raise ApplicationError(
                f"no branch {request.store_id}",
                type=Failure.BUSINESS_RULE.value,
                non_retryable=True,
            )
        week = iso_week(last_full_week(request.at, store.timezone).start, store.timezone)
        row = WeeklyReportRepository(session).claim(store.id, week)
        if row.status == "sending":  # an earlier attempt called the provider and never heard
            row = WeeklyReportRepository(session).mark(row.id, "failed", reason="outcome_unknown")
        return row, "send" if row.status == "claimed" else row.status

    @activity.defn(name=SEND_WEEKLY_REPORT)
    def send_weekly_report(self, request: WeeklyReportRequest) -> WeeklyReportResult:
        """Send the branch's report of last week to its owners, once."""
        row, todo = self._db.run(lambda s: self._claim(s, request))
        if todo != "send":
            status = "already_sent" if todo == "sent" else todo
            return WeeklyReportResult(iso_week=row.iso_week, status=status, reason=row.reason)

        def prepare(session: Session) -> tuple[Report, list[str]]:
            owners = StaffAccountRepository(session).owners_of(request.store_id)
            return weekly_report(session, request.store_id, request.at), owners

        report, owners = self._db.read(prepare)
        if not owners:
            self._db.run(
                lambda s: WeeklyReportRepository(s).mark(row.id, "no_owner", reason="no_owner")
            )
            return WeeklyReportResult(iso_week=row.iso_week, status="no_owner", reason="no_owner")
        # Only now, with the email ready, does the row say "the provider is being called":
        # a render that failed leaves it claimed, and the retry renders again.
        if not self._db.run(lambda s: WeeklyReportRepository(s).start_sending(row.id)):
            return WeeklyReportResult(iso_week=row.iso_week, status="already_sent")
        message = OutgoingMessage(
            touch_id=row.id,
            channel=Channel.EMAIL,
            to=owners[0],
            also_to=tuple(owners[1:]),
            subject=report.subject,
            body=report.html,
            category="weekly_report",
            purpose=Purpose.TRANSACTIONAL,
            attachments=(Attachment(report.csv_name, report.csv, "text/csv"),),
        )
        try:
            receipt: ProviderReceipt = self._providers.send(message)
        except ProviderOutcomeUnknown:
            # Left `sending`: the retry records outcome_unknown and never sends again.
            raise
        except ProviderError as error:
            refused = error.reason
            if error.permanent:
                self._db.run(
                    lambda s: WeeklyReportRepository(s).mark(row.id, "failed", reason=refused)
                )
                return WeeklyReportResult(
                    iso_week=row.iso_week, status="failed", reason=error.reason
                )
            self._db.run(lambda s: WeeklyReportRepository(s).mark(row.id, "claimed"))
            delay = timedelta(seconds=error.retry_after) if error.retry_after else None
            raise ApplicationError(
                str(error), type=PROVIDER_UNAVAILABLE, next_retry_delay=delay
            ) from error
        self._db.run(
            lambda s: WeeklyReportRepository(s).mark(
                row.id,
                "sent",
                recipients=len(owners),
                provider=receipt.provider,
                message_id=receipt.message_id,
                at=utcnow(),
            )
        )
        log.info("weekly report %s sent for branch %s", row.iso_week, request.store_id)
        return WeeklyReportResult(iso_week=row.iso_week, status="sent")
