"""The one interface every provider implements, and the registry that picks one per channel."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sequences.vocabulary import Channel, Purpose

# A provider that has not answered by then is given up on: well inside the send activity's
# 30-second limit, so the attempt ends cleanly and its retry applies the "never twice" rule.
PROVIDER_HTTP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (e.g. the weekly report's CSV)."""

    filename: str
    content: bytes
    media_type: str


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message for one recipient (a lead, or a member of staff)."""

    touch_id: uuid.UUID
    channel: Channel
    to: str
    subject: str | None
    body: str
    lead_id: uuid.UUID | None = None
    category: str | None = None  # the sequence key: SendGrid groups its statistics by it
    unsubscribe_url: str | None = None  # one-click (RFC 8058) link for List-Unsubscribe
    email_template_id: str | None = None  # a SendGrid dynamic template instead of the body
    template_data: dict[str, str] = field(default_factory=dict)
    content_sid: str | None = None  # an approved WhatsApp template instead of the body
    content_variables: dict[str, str] = field(default_factory=dict)
    purpose: Purpose | None = None  # email: marketing and service go in separate unsubscribe groups
    reply_to: str | None = None  # email: the lead's reply address (Inbound Parse), if configured
    attachments: tuple[Attachment, ...] = ()  # email only
    also_to: tuple[str, ...] = ()  # email: more recipients of the same message (owners)


@dataclass(frozen=True)
class ProviderReceipt:
    provider: str
    message_id: str
    # False for the outbox: the message was kept in Facet, and staff must not read `sent`.
    left_facet: bool = True


class ProviderOutcomeUnknown(Exception):
    """The request went out but no answer came back (a read timeout): the provider may have
    sent the message. Never retried by the provider adapter; the send pipeline leaves the
    touch `sending`, and the retry records `outcome_unknown` instead of sending again."""

    def __init__(self, provider: str) -> None:
        super().__init__(f"{provider} did not answer in time; the message may have been sent")
        self.provider = provider


class ProviderError(Exception):
    """A provider refused or failed a message; the send pipeline decides what follows.

    `permanent` errors are never retried (the recipient opted out at the carrier, the number
    is invalid, the request was refused); `reason` is what the timeline shows. Transient
    errors (429, 5xx, network) are retried after `retry_after` seconds when the provider said.
    """

    def __init__(
        self,
        provider: str,
        *,
        permanent: bool,
        reason: str,
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{provider} refused the message: {reason} (status {status}, code {code})")
        self.provider = provider
        self.permanent = permanent
        self.reason = reason
        self.status = status
        self.code = code
        self.retry_after = retry_after


class Provider(Protocol):
    """Carries a message out of Facet, or raises ProviderError / ProviderOutcomeUnknown."""

    @property
    def name(self) -> str: ...

    @property
    def repeatable(self) -> bool:
        """True when sending the same message again has no effect outside Facet (the outbox)."""
        ...

    def send(self, message: OutgoingMessage) -> ProviderReceipt: ...


class Registry:
    """The provider carrying each channel; built once by a process's composition root."""

    def __init__(self, providers: Mapping[Channel, Provider]) -> None:
        missing = set(Channel) - set(providers)
        if missing:
            raise ValueError(f"no provider for {', '.join(sorted(missing))}")
        self._providers = dict(providers)

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        return self._providers[message.channel].send(message)

    def repeatable(self, channel: Channel) -> bool:
        """Whether sending this channel's message again is harmless (the outbox: yes)."""
        return self._providers[channel].repeatable
