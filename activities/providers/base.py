"""What a channel provider must do. The send activity talks only to these Protocols."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sequences.vocabulary import Channel


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message for one recipient. Lives only inside the send activity."""

    touch_id: uuid.UUID
    channel: Channel
    to: str
    subject: str | None
    body: str


@dataclass(frozen=True)
class ProviderReceipt:
    provider: str
    message_id: str


class EmailProvider(Protocol):
    name: str

    def send_email(self, message: OutgoingMessage) -> ProviderReceipt: ...


class SmsProvider(Protocol):
    name: str

    def send_sms(self, message: OutgoingMessage) -> ProviderReceipt: ...


class WhatsAppProvider(Protocol):
    name: str

    def send_whatsapp(self, message: OutgoingMessage) -> ProviderReceipt: ...


@dataclass(frozen=True)
class Providers:
    """The provider chosen for each channel; built once by the worker's composition root."""

    email: EmailProvider
    sms: SmsProvider
    whatsapp: WhatsAppProvider

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        if message.channel is Channel.EMAIL:
            return self.email.send_email(message)
        if message.channel is Channel.SMS:
            return self.sms.send_sms(message)
        return self.whatsapp.send_whatsapp(message)
