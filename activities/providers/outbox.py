"""The outbox (dry-run) provider: the message is the Touch row itself; nothing leaves Facet.

It is the default for every channel until a provider's keys are configured, so a new store
can watch its journeys on each lead's timeline before a single real message goes out.
"""

from __future__ import annotations

from activities.providers.base import OutgoingMessage, ProviderReceipt, Providers


class OutboxProvider:
    name = "outbox"
    repeatable = True

    def _receipt(self, message: OutgoingMessage) -> ProviderReceipt:
        return ProviderReceipt(provider=self.name, message_id=f"outbox-{message.touch_id}")

    def send_email(self, message: OutgoingMessage) -> ProviderReceipt:
        return self._receipt(message)

    def send_sms(self, message: OutgoingMessage) -> ProviderReceipt:
        return self._receipt(message)

    def send_whatsapp(self, message: OutgoingMessage) -> ProviderReceipt:
        return self._receipt(message)


def outbox_providers() -> Providers:
    outbox = OutboxProvider()
    return Providers(email=outbox, sms=outbox, whatsapp=outbox)
