"""The send gate's rules, as pure functions `domain.messages` applies at send time.

Everything here decides from facts read a moment ago (consent, contact points,
the WhatsApp window, what was already sent); nothing here reads a clock or a database. Quiet
hours live in `sequences.send_window`. Whenever nothing is sent, the decision says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from core.vocabulary import FailureReason, SuppressionReason
from sequences.vocabulary import Channel

# The order a `preferred` send falls back through when the preferred channel is not allowed.
FALLBACK_ORDER = (Channel.WHATSAPP, Channel.EMAIL, Channel.SMS)

# WhatsApp allows free-form business messages only this long after the lead's last message.
WHATSAPP_WINDOW = timedelta(hours=24)

BlockReason = SuppressionReason | FailureReason


@dataclass(frozen=True)
class ChannelFacts:
    """What the gate knows about one channel for one lead at send time."""

    has_contact: bool
    consented: bool
    template_has_variant: bool
    opted_out: bool = False  # not consented because the lead stopped it (not merely never gave)
    contact_invalid: bool = False
    window_open: bool = True  # WhatsApp: within 24 h of the lead's last inbound message
    has_approved_template: bool = False  # WhatsApp: a Content SID to use outside the window
    # The provider refused this step on this channel for good, and why.
    provider_refused: BlockReason | None = None


@dataclass(frozen=True)
class GateDecision:
    channel: Channel | None  # where to send; None means suppressed
    considered: Channel | None  # the first channel looked at, for the timeline
    # Suppressed: why. Sent on another channel than the lead's preferred one: why not that one.
    reason: BlockReason | None
    use_approved_template: bool = False  # WhatsApp outside the window: send the Content SID
    fell_back_from: Channel | None = None  # the preferred channel that could not carry it


def candidate_channels(
    requested: Channel | Literal["preferred"], preferred: Channel | None
) -> list[Channel]:
    """An explicit channel is the only candidate; `preferred` falls back in a fixed order."""
    if requested != "preferred":
        return [Channel(requested)]
    first = [preferred] if preferred else []
    return first + [channel for channel in FALLBACK_ORDER if channel not in first]


def channel_block(facts: ChannelFacts) -> BlockReason | None:
    """Why this channel may not carry the message now, or None if it may."""
    if not facts.has_contact or not facts.template_has_variant:
        return SuppressionReason.NO_CONTACT
    if facts.provider_refused is not None:
        return facts.provider_refused
    if facts.contact_invalid:
        return SuppressionReason.INVALID_CONTACT
    if not facts.consented:
        return SuppressionReason.OPTED_OUT if facts.opted_out else SuppressionReason.NO_CONSENT
    if not facts.window_open and not facts.has_approved_template:
        return SuppressionReason.WINDOW_CLOSED
    return None


def choose_channel(
    candidates: list[Channel],
    facts: dict[Channel, ChannelFacts],
    *,
    preferred: Channel | None = None,
) -> GateDecision:
    """The first candidate that may carry the message; else the most telling reason why not.

    The reason reported is that of the first candidate the lead can be reached on at all
    (a missing phone number explains less than a STOP on the preferred channel). A message
    that falls back from the lead's `preferred` channel says which, and why it could not go
    there (no approved WhatsApp template outside the 24-hour window, no consent, …).
    """
    blocks = {channel: channel_block(facts[channel]) for channel in candidates}
    for channel in candidates:
        if blocks[channel] is None:
            outside = channel is Channel.WHATSAPP and not facts[channel].window_open
            if preferred is not None and channel is not preferred and preferred in blocks:
                return GateDecision(
                    channel,
                    channel,
                    blocks[preferred],
                    use_approved_template=outside,
                    fell_back_from=preferred,
                )
            return GateDecision(channel, channel, None, use_approved_template=outside)
    telling = [c for c in candidates if blocks[c] is not SuppressionReason.NO_CONTACT]
    considered = telling[0] if telling else (candidates[0] if candidates else None)
    reason = blocks[considered] if considered else SuppressionReason.NO_CONTACT
    return GateDecision(None, considered, reason)


def whatsapp_window_open(last_inbound: datetime | None, now: datetime) -> bool:
    return last_inbound is not None and now - last_inbound < WHATSAPP_WINDOW


def over_frequency_cap(
    sent_on: Iterable[date], today: date, *, per_day: int, per_week: int
) -> bool:
    """True if one more marketing message would exceed the caps (local days; 7-day week)."""
    days = list(sent_on)
    same_day = sum(1 for day in days if day == today)
    this_week = sum(1 for day in days if today - timedelta(days=6) <= day <= today)
    return same_day >= per_day or this_week >= per_week
