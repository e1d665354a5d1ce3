"""A test send from store setup: an admin types an address, and one short message goes to it
through the provider that carries that channel, the way a lead's message would leave.

The address is checked here and kept in the `channel_check` row; the workflow that sends it
carries only the row's id. A provider's refusal is recorded with its reason, never retried:
the admin is looking at the answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from db.models import ChannelCheck
from domain.access import Actor
from domain.errors import InvalidField, NotFound
from domain.keys import admin_only
from domain.leads import normalise_email, normalise_phone
from providers.base import OutgoingMessage, ProviderError, ProviderReceipt
from sequences.vocabulary import Channel

SUBJECT = "Facet test message"
BODY = "This is a test message from Facet's store setup. If you can read it, {channel} works."


def request(
    session: Session,
    actor: Actor,
    channel: str,
    to: str,
    *,
    country: str | None,
    account_id: uuid.UUID | None,
) -> uuid.UUID:
    """Record a test send to `to` on `channel` (a phone is read in `country` unless it has a
    +country code); returns its id, for the workflow that sends it."""
    admin_only(actor)
    try:
        chosen = Channel(channel)
    except ValueError:
        raise InvalidField("channel", "email, sms or whatsapp") from None
    if chosen is Channel.EMAIL:
        try:
            address = normalise_email(to.strip())
        except ValueError as error:
            raise InvalidField("to", str(error)) from error
        if address is None:
            raise InvalidField("to", "an email address is needed")
    elif country is None and not to.strip().startswith("+"):
        raise InvalidField("to", "a number with its + country code, such as +91 98450 12345")
    else:
        address = normalise_phone(to.strip(), country or "ZZ", field="to")
    row = ChannelCheck(channel=chosen, recipient=address, requested_by=account_id)
    session.add(row)
    session.flush()
    return row.id


def message(session: Session, check_id: uuid.UUID) -> OutgoingMessage:
    row = session.get(ChannelCheck, check_id)
    if row is None:
        raise NotFound(f"test send {check_id}")
    return OutgoingMessage(
        touch_id=row.id,
        channel=row.channel,
        to=row.recipient,
        subject=SUBJECT,
        body=BODY.format(channel=row.channel.value),
        category="facet_test",
    )


def record(
    session: Session,
    check_id: uuid.UUID,
    outcome: ProviderReceipt | ProviderError,
    now: datetime,
) -> ChannelCheck:
    """What the provider said: sent (with its message id), or failed (with its reason)."""
    row = session.get_one(ChannelCheck, check_id)
    row.provider = outcome.provider
    if isinstance(outcome, ProviderReceipt):
        status = "sent" if outcome.left_facet else "outbox"
        row.status, row.provider_message_id = status, outcome.message_id
    else:
        row.status, row.reason = "failed", outcome.reason
    row.finished_at = now
    session.flush()
    return row


def recorded(session: Session, actor: Actor, check_id: uuid.UUID) -> ChannelCheck:
    admin_only(actor)
    row = session.get(ChannelCheck, check_id)
    if row is None:
        raise NotFound(f"test send {check_id}")
    return row
