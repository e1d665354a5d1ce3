"""The test send of store setup: one message through the provider of its channel.

Not the lead send pipeline: no touch, no gate, no claim, since it is not a lead's message and
an admin waits for its answer. A refusal is recorded and answered, never retried.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities.failures import failing_for_good
from activities.payloads import SEND_CHANNEL_CHECK, ChannelCheckRequest, ChannelCheckResult
from db.session import Database
from domain import channel_check
from providers.base import ProviderError, ProviderOutcomeUnknown, ProviderReceipt, Registry


class ChannelCheckActivities:
    def __init__(self, database: Database, providers: Registry) -> None:
        self._db = database
        self._providers = providers

    @activity.defn(name=SEND_CHANNEL_CHECK)
    def send_channel_check(self, request: ChannelCheckRequest) -> ChannelCheckResult:
        """Send the test message once and record what the provider said."""
        with failing_for_good():
            message = self._db.read(lambda s: channel_check.message(s, request.check_id))
            outcome: ProviderReceipt | ProviderError
            try:
                outcome = self._providers.send(message)
            except ProviderOutcomeUnknown as unknown:
                outcome = ProviderError(
                    unknown.provider, permanent=True, reason="no answer in time"
                )
            except ProviderError as error:
                outcome = error
            now = datetime.now(UTC)
            row = self._db.run(lambda s: channel_check.record(s, request.check_id, outcome, now))
        return ChannelCheckResult(status=row.status, provider=row.provider, reason=row.reason)
