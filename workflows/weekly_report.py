"""WeeklyReport (`weekly-report:{store id}`, started by the branch's schedule every Monday at
08:00 store time): emails the owners last week against the week before.

Input: the branch's id. It runs one activity, retried while the provider is down; the
activity's claim (one row per branch and ISO week) makes a retried or repeated run send
nothing more. Ends with what became of the week's email.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import uuid

    from activities.payloads import SEND_WEEKLY_REPORT, WeeklyReportRequest, WeeklyReportResult
    from workflows import policies


class WeeklyReportInput(BaseModel):
    store_id: uuid.UUID


@workflow.defn
class WeeklyReport:
    @workflow.run
    async def run(self, input: WeeklyReportInput) -> WeeklyReportResult:
        result: WeeklyReportResult = await workflow.execute_activity(
            SEND_WEEKLY_REPORT,
            WeeklyReportRequest(store_id=input.store_id, at=workflow.now()),
            result_type=WeeklyReportResult,
            start_to_close_timeout=policies.REPORT_TIMEOUT,
            schedule_to_close_timeout=timedelta(hours=12),
            retry_policy=policies.REPORT,
        )
        return result
