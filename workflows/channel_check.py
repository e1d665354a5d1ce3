"""ChannelCheck (`channel-check:{check id}`): store setup's test send, run by the worker
because only the worker holds the providers.

Input: the `channel_check` row's id (never the address). It runs one send activity, once
(an admin is waiting for the answer, and a test message sent twice is confusing), and ends
with what the provider said.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.payloads import (
        SEND_CHANNEL_CHECK,
        ChannelCheckRequest,
        ChannelCheckResult,
    )
    from workflows import policies


@workflow.defn
class ChannelCheck:
    @workflow.run
    async def run(self, request: ChannelCheckRequest) -> ChannelCheckResult:
        result: ChannelCheckResult = await workflow.execute_activity(
            SEND_CHANNEL_CHECK,
            request,
            result_type=ChannelCheckResult,
            start_to_close_timeout=policies.SEND_TIMEOUT,
            schedule_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return result
