"""Signed, expiring tokens: invite links, console sessions, task links in notices.

A token is `<base64url JSON>.<base64url HMAC-SHA256>`, keyed by SECRET_KEY and a `purpose`,
so a token made for one use (a session) is never accepted for another (an invite). The JSON
carries its own expiry (`exp`, Unix seconds). Tokens are signed, not encrypted: put ids and
small facts in them, never personal data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, body: str) -> str:
    key = hashlib.sha256(f"facet:{purpose}:{secret}".encode()).digest()
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def sign(secret: str, purpose: str, payload: dict[str, Any], expires_at: datetime) -> str:
    """A token carrying `payload` for `purpose`, valid until `expires_at`."""
    body = _b64(
        json.dumps({**payload, "exp": int(expires_at.timestamp())}, separators=(",", ":")).encode()
    )
    return f"{body}.{_mac(secret, purpose, body)}"


def unsign(secret: str, purpose: str, token: str, now: datetime) -> dict[str, Any] | None:
    """The payload of a genuine, unexpired token for `purpose`; None for anything else."""
    body, _, mac = token.partition(".")
    if not body or not mac or not hmac.compare_digest(mac, _mac(secret, purpose, body)):
        return None
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        return None
    if payload["exp"] < now.timestamp():
        return None
    return payload
