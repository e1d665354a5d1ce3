"""The send gate's channel choice, as a pure function the send activity calls at send time.

Issue 4 adds quiet hours, frequency caps and the WhatsApp window here; the rule stays the
same: decide from facts read at send time, and give a reason whenever nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sequences.vocabulary import Channel, SuppressionReason

# The order a `preferred` send falls back through when the preferred channel is not allowed.
FALLBACK_ORDER = (Channel.WHATSAPP, Channel.EMAIL, Channel.SMS)


@dataclass(frozen=True)
class ChannelFacts:
    """What the gate knows about one channel for one lead at send time."""

    has_contact: bool
    consented: bool
    template_has_variant: bool


@dataclass(frozen=True)
class GateDecision:
    channel: Channel | None  # where to send; None means suppressed
    considered: Channel | None  # the first channel looked at, for the timeline
    reason: SuppressionReason | None


def candidate_channels(
    requested: Channel | Literal["preferred"], preferred: Channel | None
) -> list[Channel]:
    """An explicit channel is the only candidate; `preferred` falls back in a fixed order."""
    if requested != "preferred":
        return [Channel(requested)]
    first = [preferred] if preferred else []
    return first + [channel for channel in FALLBACK_ORDER if channel not in first]


def choose_channel(candidates: list[Channel], facts: dict[Channel, ChannelFacts]) -> GateDecision:
    """The first candidate the lead can be reached on, consented to, and the template covers."""
    reachable = [c for c in candidates if facts[c].has_contact and facts[c].template_has_variant]
    for channel in reachable:
        if facts[channel].consented:
            return GateDecision(channel=channel, considered=channel, reason=None)
    if reachable:
        return GateDecision(None, reachable[0], SuppressionReason.NO_CONSENT)
    return GateDecision(None, candidates[0] if candidates else None, SuppressionReason.NO_CONTACT)
