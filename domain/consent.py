"""Consent: the ledger's rules, what an inbound text means, and one-click unsubscribe links.

Default is no consent. A STOP (a carrier keyword, an unsubscribe, a spam report, a carrier
block) wins at once, on every purpose of its channel, until the person opts in again. The
ledger rows are written by `ConsentRepository`; this module decides when.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from db.repositories import ConsentRepository
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


def grant_marketing(
    session: Session,
    lead_id: uuid.UUID,
    channels: list[Channel],
    *,
    source: str,
    evidence: str | None,
    at: datetime,
    new_lead: bool = False,
) -> None:
    """The person agreed to marketing on these channels (a ticked box, a START)."""
    ConsentRepository(session).grant_all(
        lead_id,
        channels,
        Purpose.MARKETING,
        source=source,
        evidence=evidence,
        at=at,
        new_lead=new_lead,
    )


def stop(
    session: Session,
    lead_id: uuid.UUID,
    channel: Channel,
    *,
    via: str,
    evidence: str | None,
    at: datetime,
) -> bool:
    """The person said stop on `channel`: every purpose on it, at once. True if it changed."""
    return ConsentRepository(session).revoke(lead_id, channel, via=via, evidence=evidence, at=at)


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
