"""The outbox (dry-run) provider: the message is the Touch row itself; nothing leaves Facet.

It is the default for every channel until a provider's keys are configured, so a new store
can watch its journeys on each lead's timeline before a single real message goes out.
"""

from __future__ import annotations

from providers.base import OutgoingMessage, ProviderReceipt


class OutboxProvider:
    name = "outbox"
    repeatable = True

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        return ProviderReceipt(
            provider=self.name, message_id=f"outbox-{message.touch_id}", left_facet=False
        )
