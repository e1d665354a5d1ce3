"""Signed, self-contained tokens Facet hands out (one-click unsubscribe links).

A token names a lead and a channel and carries an HMAC over both made with SECRET_KEY, so
the unsubscribe route needs no login, no cookie and no database lookup to trust it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from sequences.vocabulary import Channel


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
