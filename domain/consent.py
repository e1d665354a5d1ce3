"""Consent: the ledger's rules, what an inbound text means, and one-click unsubscribe links.

Default is no consent. A stop wins at once, until the person's own later opt-in. The ledger
rows are written by `ConsentRepository`; this module decides when, and what they allow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from core.vocabulary import ConsentStatus, SuppressionReason
from db.models import Consent, Lead
from db.repositories import Capture, ConsentRepository
from sequences.vocabulary import Channel, Purpose

# --- what an inbound text means ---------------------------------------------------------------
#
# Keywords count only as the whole message (case and surrounding spaces aside), as carriers
# apply them: "STOP" opts out, "STOP PLEASE" does not. A message that asks in plain words to
# stop ("please stop texting me") is not a keyword: Facet stops marketing on that channel and
# asks a person to confirm, instead of guessing either way.

OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
HELP_TEXT = "Reply STOP to stop messages, START to resume."

_STOP_REQUEST = re.compile(
    r"\b(stop|quit|cease)\b.*\b(text|texting|message|messaging|messages|sms|contact|"
    r"contacting|sending|whatsapp)\b"
    r"|\b(unsubscribe|opt[\s-]?out|remove me|take me off|do not (text|message|contact)|"
    r"don'?t (text|message|contact))\b",
    re.IGNORECASE,
)


class InboundKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    STOP_REQUEST = "stop_request"  # plain words asking to stop: suppress and review
    REPLY = "reply"


def classify_inbound(text: str) -> InboundKind:
    word = text.strip().upper()
    if word in OPT_OUT_WORDS:
        return InboundKind.OPT_OUT
    if word in OPT_IN_WORDS:
        return InboundKind.OPT_IN
    if word in HELP_WORDS:
        return InboundKind.HELP
    if _STOP_REQUEST.search(text):
        return InboundKind.STOP_REQUEST
    return InboundKind.REPLY


# --- the ledger -------------------------------------------------------------------------------
#
# Every grant and revocation is appended to the ledger (`ConsentRecord`) with who captured it,
# where, the wording shown and when the person did it; the state now is its newest record per
# channel and purpose. A record is written only when it changes that state.
#
# What a revocation stops: a STOP on a channel (a keyword, a carrier block, a spam report, a
# stop said to staff) stops every purpose on it; an email unsubscribe stops marketing email,
# not receipts and service messages; a full opt-out (staff record `opted_out` with no channel)
# stops marketing on every channel.
#
# What undoes one: only the person's own later opt-in. START on SMS or WhatsApp; or a capture
# that is a new submission made after the revocation — it says when it was submitted
# (`submitted_at`, later than the revocation) and carries its evidence. A repeated capture (a
# retry, a lead-ad re-sync, the same enquiry again within ENQUIRY_REPEAT_MINUTES) changes no
# consent, and a capture without a submission time never re-grants a revoked channel: it
# cannot show that it came after the stop.


class CapturedBy(StrEnum):
    FORM = "form"  # a capture: web form, lead ad, the walk-in tablet
    STAFF = "staff"  # a member of staff recorded what the person said
    WEBHOOK = "webhook"  # the person's own text (STOP, START) or their email provider's report
    LINK = "link"  # the one-click unsubscribe link
    PROVIDER = "provider"  # the carrier refused a message: the person stopped it there


EVERY_PURPOSE = (Purpose.MARKETING, Purpose.TRANSACTIONAL)
MARKETING_ONLY = (Purpose.MARKETING,)


@dataclass(frozen=True)
class ChannelConsent:
    """Where one channel stands for one lead, as the send gate reads it."""

    marketing: bool = False  # marketing granted now
    opted_in: bool = False  # a grant of any purpose now (WhatsApp needs one)
    stopped: bool = False  # every purpose revoked: nothing goes on this channel
    unsubscribed: bool = False  # marketing revoked
    revoked_at: datetime | None = None  # the newest revocation on the channel


def channel_states(session: Session, lead_id: uuid.UUID) -> dict[Channel, ChannelConsent]:
    """Each channel's consent for the lead, from one query of the state now."""
    states = ConsentRepository(session).states(lead_id)
    return {channel: _channel_state(states, channel) for channel in Channel}


def _channel_state(
    states: dict[tuple[Channel, Purpose], Consent], channel: Channel
) -> ChannelConsent:
    rows = {purpose: states.get((channel, purpose)) for purpose in Purpose}

    def has(purpose: Purpose, status: ConsentStatus) -> bool:
        row = rows[purpose]
        return row is not None and row.status is status

    revoked = [
        row.revoked_at
        for row in rows.values()
        if row and row.revoked_at and row.status is ConsentStatus.REVOKED
    ]
    return ChannelConsent(
        marketing=has(Purpose.MARKETING, ConsentStatus.GRANTED),
        opted_in=any(has(purpose, ConsentStatus.GRANTED) for purpose in Purpose),
        stopped=has(Purpose.TRANSACTIONAL, ConsentStatus.REVOKED),
        unsubscribed=has(Purpose.MARKETING, ConsentStatus.REVOKED),
        revoked_at=max(revoked) if revoked else None,
    )


def block(
    state: ChannelConsent, channel: Channel, purpose: Purpose, *, window_open: bool
) -> SuppressionReason | None:
    """Why consent keeps `purpose` off `channel` now, or None if it may go.

    A stop wins over everything; marketing needs a marketing grant; WhatsApp needs an opt-in
    for anything, except a reply inside the lead's own 24-hour window.
    """
    if state.stopped or (purpose is Purpose.MARKETING and state.unsubscribed):
        return SuppressionReason.OPTED_OUT
    if purpose is Purpose.MARKETING and not state.marketing:
        return SuppressionReason.NO_CONSENT
    if channel is Channel.WHATSAPP and not state.opted_in and not window_open:
        return SuppressionReason.NO_CONSENT
    return None


def _grant(
    session: Session,
    lead_id: uuid.UUID,
    channel: Channel,
    capture: Capture,
    states: dict[tuple[Channel, Purpose], Consent],
) -> None:
    """Marketing on `channel` is granted, and a stop on its other purposes lifted."""
    repository = ConsentRepository(session)
    for purpose in Purpose:
        now = states.get((channel, purpose))
        wanted = purpose is Purpose.MARKETING or (
            now is not None and now.status is ConsentStatus.REVOKED
        )
        if wanted and (now is None or now.status is not ConsentStatus.GRANTED):
            repository.append(lead_id, channel, purpose, ConsentStatus.GRANTED, capture, now=now)


def grant_from_capture(
    session: Session,
    lead_id: uuid.UUID,
    channels: list[Channel],
    capture: Capture,
    *,
    submitted: bool,
    new_lead: bool = False,
) -> list[Channel]:
    """A capture's ticked boxes. Channels never revoked are granted; a revoked channel only
    when the capture is a new submission made after the revocation (`submitted`: the form
    said when, in `capture.given_at`) with its evidence. Returns the channels kept revoked.
    The caller passes no repeated capture (it changes no consent)."""
    if not channels:
        return []
    states = {} if new_lead else ConsentRepository(session).states(lead_id)
    kept_revoked = []
    for channel in dict.fromkeys(channels):
        state = _channel_state(states, channel)
        if state.revoked_at is not None and (state.stopped or state.unsubscribed):
            after = submitted and capture.given_at > state.revoked_at
            if not (after and capture.evidence):
                kept_revoked.append(channel)
                continue
        _grant(session, lead_id, channel, capture, states)
    if not new_lead:
        session.flush()
    return kept_revoked


def opt_in(session: Session, lead_id: uuid.UUID, channel: Channel, capture: Capture) -> None:
    """The person's own START: the channel is theirs to use again, whatever stopped it."""
    _grant(session, lead_id, channel, capture, ConsentRepository(session).states(lead_id))
    session.flush()


def stop(
    session: Session,
    lead_id: uuid.UUID,
    channel: Channel,
    capture: Capture,
    purposes: tuple[Purpose, ...] = EVERY_PURPOSE,
) -> bool:
    """The person said stop on `channel` (for `purposes`): at once. True if it changed.

    A lead who never consented still gets the revocation recorded, so the stop is on the
    ledger and wins over any later capture until their own opt-in.
    """
    repository = ConsentRepository(session)
    states = repository.states(lead_id)
    changed = False
    for purpose in purposes:
        now = states.get((channel, purpose))
        if now is None or now.status is not ConsentStatus.REVOKED:
            repository.append(lead_id, channel, purpose, ConsentStatus.REVOKED, capture, now=now)
            changed = True
    session.flush()
    return changed


def stopped_everywhere(session: Session, lead: Lead) -> bool:
    """Nothing can reach the lead any more: every channel they have a contact for is stopped."""
    states = channel_states(session, lead.id)
    reachable = ([Channel.EMAIL] if lead.email else []) + (
        [Channel.SMS, Channel.WHATSAPP] if lead.phone_e164 else []
    )
    return all(states[channel].stopped for channel in reachable)


# --- one-click unsubscribe links --------------------------------------------------------------
#
# A token names a lead and a channel and carries an HMAC over both made with SECRET_KEY, so
# the unsubscribe route needs no login, no cookie and no database lookup to trust it.


def _signature(secret: str, lead_id: uuid.UUID, channel: Channel) -> str:
    digest = hmac.new(
        secret.encode(), f"unsubscribe:{lead_id}:{channel.value}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")


def unsubscribe_token(secret: str, lead_id: uuid.UUID, channel: Channel = Channel.EMAIL) -> str:
    return f"{lead_id.hex}.{channel.value}.{_signature(secret, lead_id, channel)}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[uuid.UUID, Channel] | None:
    """The lead and channel a token names, or None if it is malformed or forged."""
    try:
        lead_hex, channel_name, signature = token.split(".")
        lead_id, channel = uuid.UUID(hex=lead_hex), Channel(channel_name)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(secret, lead_id, channel)):
        return None
    return lead_id, channel
